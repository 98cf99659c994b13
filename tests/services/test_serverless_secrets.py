"""The credentials never show: not in a log record, an exception's text, repr or traceback,
nor in Django's debug page for it, across every failure the client can meet."""

from __future__ import annotations

import base64
import logging
import socket
import sys
import traceback
from collections.abc import Callable

import django
import pytest
from django.apps import apps
from django.views.debug import ExceptionReporter

from deployments_app.services.serverless import ClientConfig, ServerlessClient
from deployments_app.services.serverless_errors import ServerlessError
from serverless_emulator import Fault
from tests.spec import validate_request

TOKEN = "tok-Zq9-very-secret-4711"
WRONG_TOKEN = "tok-wrong-but-still-secret-0815"
API_SECRET = "apisecret-Xy7-do-not-show"


def forbidden(account_sid: str) -> list[str]:
    found = [TOKEN, WRONG_TOKEN, API_SECRET]
    for user, secret in [(account_sid, TOKEN), (account_sid, WRONG_TOKEN)]:
        found.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return found


def rendered(error: BaseException) -> str:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, ServerlessError):
        texts += [error.user_message, error.detail or "", error.message]
    # What Django's technical 500 page would show, frame locals included.
    reporter = ExceptionReporter(None, type(error), error, error.__traceback__)
    texts.append(reporter.get_traceback_text())
    return "\n".join(texts)


@pytest.fixture
def app_registry() -> None:
    # Django's debug page needs the app registry; pytest-django has not set it up when
    # DJANGO_SETTINGS_MODULE only comes from tests/conftest.py. Done in setup, before
    # the log capture of the test call starts (django.setup() configures logging).
    if not apps.ready:
        django.setup()


def test_no_failure_shows_the_credentials(app_registry, emulator_factory, caplog):
    emu = emulator_factory(seed="demo", auth_token=TOKEN)
    fast = {
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "retry_budget_seconds": 2.0,
        "retry_after_cap_seconds": 1.0,
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.02,
        "settle_seconds": 0.0,
    }
    config = ClientConfig(
        base_url=emu.base_url, account_sid=emu.account_sid, auth_token=TOKEN, **fast
    )
    good = ServerlessClient(config)
    wrong = ServerlessClient(
        ClientConfig(
            base_url=emu.base_url, account_sid=emu.account_sid, auth_token=WRONG_TOKEN, **fast
        )
    )
    keyed = ServerlessClient(
        ClientConfig(
            base_url=emu.base_url,
            account_sid=emu.account_sid,
            api_key="SK" + "7" * 32,
            api_secret=API_SECRET,
            **fast,
        )
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = ServerlessClient(
        ClientConfig(
            base_url=f"http://127.0.0.1:{closed_port}",
            account_sid=emu.account_sid,
            auth_token=TOKEN,
            **fast,
        )
    )
    ivr = next(s for s in emu.store.services() if s.unique_name == "ivr-flows")
    envs = {e.unique_name: e for e in emu.store.environments(ivr.sid)}
    dev, stage = envs["dev"], envs["stage"]
    list_envs = lambda client=good: client.environment_list(service_sid=ivr.sid)  # noqa: E731
    promote_it = lambda: good.deployment_create(  # noqa: E731
        service_sid=ivr.sid, environment_sid=stage.sid, build_sid=dev.build_sid
    )

    def fault(**options) -> Callable[[], None]:
        return lambda: emu.faults.add(Fault(**options))

    cases: list[tuple[Callable[[], None] | None, Callable[[], object]]] = [
        (None, lambda: list_envs(wrong)),  # 401
        (None, lambda: list_envs(keyed)),  # 401 with an API key
        (None, lambda: good.environment_get(service_sid=ivr.sid, environment_sid="ZE" + "0" * 32)),
        (fault(method="GET", status=403), list_envs),
        (fault(method="GET", status=429, retry_after=30), list_envs),
        (fault(method="GET", status=503, count=None), list_envs),
        (fault(method="GET", status=502, body="html", count=None), list_envs),
        (fault(method="GET", status=200, body="malformed"), list_envs),
        (fault(method="GET", status=None, delay_ms=1000), list_envs),
        (fault(method="GET", drop_connection=True, count=None), list_envs),
        (None, lambda: list_envs(nowhere)),
        (fault(method="POST", status=503), promote_it),
        (fault(method="POST", status=None, delay_ms=1000, after_effect=True), promote_it),
        (
            None,
            lambda: good.deployment_create(
                service_sid=ivr.sid, environment_sid=dev.sid, build_sid="ZB1"
            ),
        ),
        (
            None,
            lambda: good.deployment_page(service_sid=ivr.sid, environment_sid=dev.sid, cursor="x"),
        ),
    ]
    caplog.set_level(logging.DEBUG)  # urllib3's own debug lines included
    errors: list[BaseException] = []
    try:
        for arrange, act in cases:
            emu.faults.clear()
            if arrange is not None:
                arrange()
            try:
                act()
            except Exception as error:
                errors.append(error)
        emu.faults.clear()
        # The "re-read also fails" case: POST times out, then every read fails.
        emu.faults.add(Fault(method="POST", status=None, delay_ms=1000, after_effect=True))
        emu.faults.add(Fault(method="GET", path=r"/Environments/ZE[0-9a-f]+$", count=None))
        with pytest.raises(ServerlessError) as unknown:
            good.deployment_create(
                service_sid=ivr.sid,
                environment_sid=envs["production"].sid,
                build_sid=dev.build_sid,
            )
        errors.append(unknown.value)
    finally:
        for client in (good, wrong, keyed, nowhere):
            client.close()

    kinds = {type(e).__name__ for e in errors}
    assert kinds >= {
        "AuthenticationFailed",
        "NotFound",
        "RateLimited",
        "UpstreamUnavailable",
        "DeploymentNotApplied",
        "InvalidRequest",
        "PermissionDenied",
        "DeploymentOutcomeUnknown",
    }, kinds
    assert all(isinstance(e, ServerlessError) for e in errors), errors

    shown = [rendered(e) for e in errors]
    shown += [record.getMessage() for record in caplog.records]
    shown += [
        "".join(traceback.format_exception(*record.exc_info))
        for record in caplog.records
        if record.exc_info
    ]
    shown += [repr(config), repr(good), repr(good._session.auth), str(sys.exc_info())]
    assert len(caplog.records) > 20
    for secret in forbidden(emu.account_sid):
        leaks = [text for text in shown if secret in text]
        assert not leaks, f"{secret[:6]}… shown in: {leaks[0][:300]}"

    for recorded in emu.requests:
        validate_request(recorded)
