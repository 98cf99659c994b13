"""The Twilio credentials appear nowhere, through the whole app, on every failure path.

tests/services/test_serverless_secrets.py checks the client's own errors and log lines;
tests/views/test_secrets_in_pages.py checks the pages' HTML on a 401. This goes end to
end with a recognisable fake token: for each way Twilio can fail (down, too slow, 401,
403, 404, 429, 500, 502, 503, malformed JSON, and each of those on the deployment POST
alone) it drives every page, every action over HTTP as a release manager (with and
without htmx), an approval whose execution fails, the management commands and /healthz,
then scans all it captured: response bodies, headers and cookies, the template contexts
(strings, data classes, forms, rows, and no object holding the credentials), every log
record as the JSON formatter of deployments_app/request_log.py writes it, the console's
output, every row of every model (AuditEntry, requests, sessions...), the cache, the
mail sent, and the text, repr and Django debug-page text of every exception raised.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import io
import logging
import socket
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.paginator import Page
from django.db.models import Model
from django.forms import BaseForm
from django.http import HttpResponseBase
from django.test import Client
from django.test.utils import ContextList
from django.utils import timezone
from django.views.debug import ExceptionReporter
from requests.auth import HTTPBasicAuth

from deployments_app import roles
from deployments_app.log_forms import iso_utc
from deployments_app.models import AuditEntry, EnvironmentPolicy, PromotionRequest
from deployments_app.request_log import JsonFormatter, TextFormatter
from deployments_app.services.serverless import ClientConfig, ServerlessClient, get_client
from deployments_app.services.serverless import reset_client as reset_serverless_client
from serverless_emulator import Emulator, Fault

pytestmark = pytest.mark.django_db

# Recognisable wherever it lands, whole or cut: "LEAKCANARY" is searched case-blind.
TOKEN = "tok_LEAKCANARY_0123456789abcdef"
CANARY = "LEAKCANARY"
ACCOUNT_SID = "AC" + "feedc0de" * 4
BASIC = base64.b64encode(f"{ACCOUNT_SID}:{TOKEN}".encode()).decode()
# The Authorization header's value, and a stretch of it that encodes only token bytes
# (bytes 36..56 of "AC…:tok_…", all inside the token), should a header be shown cut short.
FORBIDDEN = (
    TOKEN,
    BASIC,
    BASIC[48:76],
    base64.b64encode(TOKEN.encode()).decode(),
    base64.urlsafe_b64encode(TOKEN.encode()).decode(),
)
# Objects that hold the credentials: none belongs in a template's context.
HOLDERS = (ServerlessClient, ClientConfig, requests.Session, HTTPBasicAuth)

HTMX = {"HTTP_HX_REQUEST": "true"}
FAST = {
    "TWILIO_CONNECT_TIMEOUT": 0.5,
    "TWILIO_READ_TIMEOUT": 0.5,
    "TWILIO_MAX_ATTEMPTS": 2,
    "TWILIO_RETRY_BUDGET_SECONDS": 0.5,
    "TWILIO_RETRY_AFTER_CAP_SECONDS": 1.0,
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fault_everywhere(emu: Emulator, settings: Any, **options: Any) -> None:
    emu.faults.add(Fault(method=None, path=r"/v1/", count=None, **options))


def fault_on_deployment_post(emu: Emulator, settings: Any, **options: Any) -> None:
    emu.faults.add(Fault(method="POST", path=r"/Deployments$", count=None, **options))


def upstream_down(emu: Emulator, settings: Any) -> None:
    settings.TWILIO_SERVERLESS_BASE_URL = f"http://127.0.0.1:{closed_port()}"


def too_slow(emu: Emulator, settings: Any) -> None:
    settings.TWILIO_READ_TIMEOUT = 0.1
    emu.faults.latency_ms = 400


# Each: how Twilio fails. The emulator is given the fault; "down" moves the base URL.
SCENARIOS: dict[str, Callable[[Emulator, Any], None]] = {
    "upstream down": upstream_down,
    "timeout": too_slow,
    **{
        f"{status} everywhere": functools.partial(fault_everywhere, status=status, retry_after=30)
        for status in (401, 403, 404, 429, 500, 503)
    },
    "502 html everywhere": functools.partial(fault_everywhere, status=502, body="html"),
    "malformed JSON everywhere": functools.partial(fault_everywhere, status=200, body="malformed"),
    **{
        f"{status} on the deployment POST": functools.partial(
            fault_on_deployment_post, status=status, retry_after=30
        )
        for status in (401, 403, 429, 500, 503)
    },
    "malformed JSON on the deployment POST": functools.partial(
        fault_on_deployment_post, status=200, body="malformed"
    ),
    "timeout on the deployment POST": functools.partial(
        fault_on_deployment_post, status=None, delay_ms=1500
    ),
    "connection dropped on the deployment POST": functools.partial(
        fault_on_deployment_post, drop_connection=True
    ),
}


class Captured:
    """Everything the run showed anyone, each text with where it came from."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.server_errors: list[str] = []

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, str(text)))

    def response(self, where: str, response: HttpResponseBase) -> None:
        streamed = response.streaming and b"".join(response.streaming_content)  # type: ignore[attr-defined]
        body = streamed or response.content
        self.add(f"{where}: body", body.decode("utf-8", errors="replace"))
        self.add(f"{where}: headers", "\n".join(f"{k}: {v}" for k, v in response.items()))
        self.add(f"{where}: cookies", response.cookies.output())
        if response.status_code == 500:
            self.server_errors.append(where)
        # Each template rendered has its context, mostly the same objects: each seen once.
        seen: set[int] = set()
        for index, context in enumerate(contexts_of(response)):
            for value in walk(context.flatten(), seen=seen):
                if isinstance(value, HOLDERS):
                    self.add(f"{where}: context {index}", f"a {type(value).__name__} {CANARY}")
                if not isinstance(value, int | float | bool) and value is not None:
                    self.add(f"{where}: context {index}", value)
        redirects = getattr(response, "redirect_chain", [])
        if redirects:
            self.add(f"{where}: redirects", redirects)

    def exception(self, where: str, error: BaseException) -> None:
        self.add(f"{where}: str", error)
        self.add(f"{where}: repr", repr(error))
        self.add(f"{where}: traceback", "".join(traceback.format_exception(error)))
        # What Django's debug page would show: frame locals and the settings.
        reporter = ExceptionReporter(None, type(error), error, error.__traceback__)
        self.add(f"{where}: debug page", reporter.get_traceback_text())

    def cache(self, where: str) -> None:
        # Both backends keep pickles: a string in one is there in UTF-8.
        stored = getattr(cache, "_cache", {})
        if isinstance(stored, dict):  # local memory
            pickles = list(stored.items())
        else:  # Redis (make test's second pass): this worker's own database
            client = stored.get_client(write=False)
            pickles = [(key, client.get(key) or b"") for key in client.keys("*")]
        for key, value in pickles:
            self.add(f"{where}: cache {key}", bytes(value).decode("utf-8", errors="replace"))

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.texts:
            if CANARY.lower() in text.lower() or any(secret in text for secret in FORBIDDEN):
                found.append(f"{where}: …{excerpt(text)}…")
        return found


def excerpt(text: str) -> str:
    at = max(text.lower().find(CANARY.lower()), 0)
    for secret in FORBIDDEN:
        if secret in text:
            at = text.find(secret)
    return text[max(at - 200, 0) : at + 100]


def contexts_of(response: HttpResponseBase) -> list[Any]:
    context = getattr(response, "context", None)
    if context is None:
        return []
    return list(context) if isinstance(context, ContextList) else [context]


def walk(value: object, depth: int = 0, seen: set[int] | None = None) -> Iterator[object]:
    """The value, and what it holds: containers, data classes, forms, pages, model rows."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return
    seen.add(id(value))
    yield value
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return
    inner: list[object] = []
    if isinstance(value, Mapping):
        inner = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        inner = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = [getattr(value, field.name) for field in dataclasses.fields(value)]
    elif isinstance(value, BaseForm):
        inner = [value.data, getattr(value, "cleaned_data", {}), value.errors, value.initial]
    elif isinstance(value, Page):
        inner = list(value.object_list)
    elif isinstance(value, Model):
        inner = [getattr(value, field.attname) for field in value._meta.concrete_fields]
    for item in inner:
        yield from walk(item, depth + 1, seen)


def user_client(django_user_model, name: str, role: str) -> Client:
    user = django_user_model.objects.create_user(name, email=f"{name}@example.com")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def canary(emulator_factory, settings, monkeypatch) -> Iterator[Emulator]:
    """The dashboard pointed at an emulator that takes only the canary credentials."""
    # After an ambiguous deployment POST the client re-reads for `settle_seconds` (2 s),
    # which no setting shortens; a tenth of it still takes the same path.
    from_settings = ClientConfig.from_settings.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        ClientConfig,
        "from_settings",
        classmethod(lambda cls: dataclasses.replace(from_settings(cls), settle_seconds=0.2)),
    )
    emu = emulator_factory(seed="demo", account_sid=ACCOUNT_SID, auth_token=TOKEN)
    settings.TWILIO_SERVERLESS_BASE_URL = emu.base_url
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_API_KEY = ""
    settings.TWILIO_API_SECRET = ""
    for name, value in FAST.items():
        setattr(settings, name, value)
    cache.clear()
    reset_serverless_client()
    yield emu
    reset_serverless_client()
    cache.clear()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_failure_shows_the_credentials_anywhere(
    canary, settings, django_user_model, caplog, capfd, scenario
):
    roles.ensure_role_groups()
    rita = user_client(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = user_client(django_user_model, "anna", roles.APPROVER)
    store = canary.store
    ivr, sms = store.service("ivr-flows"), store.service("sms-notifications")
    dev, stage, production = (
        store.environment_named(ivr.sid, n) for n in ("dev", "stage", "production")
    )
    sms_stage = store.environment_named(sms.sid, "stage")
    earlier = next(
        b.sid for b in store.builds(ivr.sid) if b.sid != dev.build_sid and b.status == "completed"
    )
    captured = Captured()
    caplog.set_level(logging.DEBUG)

    # While Twilio answers: a promotion to a protected production, awaiting approval.
    EnvironmentPolicy.objects.create(
        service_sid=ivr.sid, environment_name="production", promote_from="stage"
    )
    asked = {"service": ivr.sid, "source": stage.sid, "target": production.sid, "reason": "REL-7"}
    captured.response("request approval", rita.post("/actions/promote/", asked, **HTMX))
    (request,) = PromotionRequest.objects.all()
    captured.cache("before the fault")
    cache.clear()  # every page below asks Twilio, not the cache

    SCENARIOS[scenario](canary, settings)

    def get(who: Client, url: str, **extra: Any) -> None:
        try:
            captured.response(f"GET {url}", who.get(url, **extra))
        except Exception as error:  # a 500: the test client re-raises the view's exception
            captured.server_errors.append(f"GET {url}: {error!r}")
            captured.exception(f"GET {url}", error)

    def post(who: Client, url: str, data: dict[str, str], **extra: Any) -> None:
        try:
            captured.response(f"POST {url} {extra}", who.post(url, data, **extra))
        except Exception as error:
            captured.server_errors.append(f"POST {url}: {error!r}")
            captured.exception(f"POST {url}", error)

    def command(*args: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
        except BaseException as error:  # CommandError, as the failure is meant to end
            captured.exception(f"manage.py {args[0]}", error)
        captured.add(f"manage.py {args[0]}: output", out.getvalue() + err.getvalue())

    pages = [
        "/",
        "/?q=ivr",
        f"/overview/services/{ivr.sid}/",
        f"/services/{ivr.sid}/environments/{dev.sid}/",
        f"/services/{ivr.sid}/environments/{dev.sid}/logs/",
        f"/services/{ivr.sid}/environments/{dev.sid}/health/?since={iso_utc(timezone.now())}",
        f"/services/{ivr.sid}/builds/{dev.build_sid}/",
        f"/services/{ivr.sid}/compare/?head={dev.build_sid}&environment={stage.sid}",
        f"/actions/promote/?service={ivr.sid}&source={dev.sid}&target={stage.sid}",
        f"/actions/redeploy/?service={ivr.sid}&environment={dev.sid}&build={earlier}",
        f"/actions/clear/?service={sms.sid}&environment={sms_stage.sid}",
        "/approvals/",
        f"/approvals/{request.pk}/",
        "/healthz",
    ]
    # With only the deployment POST failing the pages read as usual (test_secrets_in_pages).
    if "POST" not in scenario:
        for url in pages:
            get(rita, url)
            get(rita, url, **HTMX)
    actions = [
        ("/actions/promote/", {"service": ivr.sid, "source": dev.sid, "target": stage.sid}),
        (
            "/actions/redeploy/",
            {"service": ivr.sid, "environment": dev.sid, "build": earlier, "reason": "rollback"},
        ),
        ("/actions/restore/", {"service": ivr.sid, "environment": dev.sid, "reason": "restore"}),
        (
            "/actions/clear/",
            {"service": sms.sid, "environment": sms_stage.sid, "confirmation": "stage"},
        ),
        ("/refresh/", {"service": ivr.sid, "next": "/"}),
    ]
    for url, data in actions:
        post(rita, url, data, **HTMX)
        post(rita, url, data, follow=True)  # the message shown on the page it lands on
    # The approval that executes the promotion (which fails), then its retry.
    post(anna, f"/approvals/{request.pk}/approve/", {"comment": "ok"}, **HTMX)
    post(anna, f"/approvals/{request.pk}/retry/", {}, follow=True)
    command("promote", "ivr-flows", "dev", "stage", "--as", "rita")
    command("rollback", "ivr-flows", "dev", earlier, "--as", "rita", "--reason", "broke")
    command("clear_environment", "sms-notifications", "stage", "--as", "rita", "--confirm", "stage")
    command("approve", str(request.pk), "--as", "anna")
    # Read-ahead reads still running log their failures before the logs are read.
    executor = get_client()._executor
    if executor is not None:
        executor.shutdown(wait=True)
    reset_serverless_client()  # that pool is closed: the pages below get a new client
    canary.faults.clear()
    # What those failures left behind, as the audit and the request show them.
    for url in ("/audit/", "/audit/export.csv", f"/approvals/{request.pk}/", "/approvals/"):
        get(rita, url)

    admin = django_user_model.objects.create_superuser("root", email="root@example.com")
    staff = Client()
    staff.force_login(admin)
    for entry in AuditEntry.objects.all():
        get(staff, f"/admin/deployments_app/auditentry/{entry.pk}/change/")
    get(staff, "/admin/deployments_app/auditentry/")
    get(staff, f"/admin/deployments_app/promotionrequest/{request.pk}/change/")

    for model in apps.get_models():
        for row in model._default_manager.all():
            for field in row._meta.concrete_fields:
                captured.add(
                    f"{model.__name__} #{row.pk} {field.name}", getattr(row, field.attname)
                )
    for session in Session.objects.all():
        captured.add(f"session {session.pk}", session.get_decoded())
    for message in mail.outbox:
        captured.add("mail", f"{message.subject}\n{message.body}\n{message.to}")
    captured.cache("after the run")
    json_lines, text_lines = JsonFormatter(), TextFormatter()
    for record in caplog.records:
        where = f"log {record.name} {record.levelname}"
        captured.add(f"{where} (JSON)", json_lines.format(record))
        captured.add(f"{where} (text)", text_lines.format(record))
        captured.add(f"{where} (attributes)", repr(vars(record)))
    console = capfd.readouterr()
    captured.add("console", console.out + console.err)

    # The run went where it should: the canary was what Twilio was sent, the failures
    # were met and recorded, and the scan looked at enough to mean something.
    sent = {r.headers.get("Authorization") for r in canary.requests}
    assert f"Basic {BASIC}" in sent
    assert any(where.startswith("POST") and "context" in where for where, _ in captured.texts)
    assert AuditEntry.objects.filter(outcome__in=["failed", "refused", "unknown"]).exists()
    assert len(caplog.records) > 10
    leaks = captured.leaks()
    assert not leaks, f"{len(leaks)} leak(s); the first:\n{leaks[0]}"
    assert not captured.server_errors, captured.server_errors
