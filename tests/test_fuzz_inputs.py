"""Input fuzzing: every path SID, query parameter and form field a view reads, never a 500.

One test per view (or view family) of deployments_app/urls.py, plus the login page. Each
draws about 30 inputs with hypothesis: SIDs of the right shape that do not exist, wrong
prefixes, wrong lengths, unicode and very long text, the seed's real SIDs (so the view
gets past its form to a real upstream, the emulator) and a list of known-nasty values
(unicode digits, null bytes, CRLF, markup, template syntax, open redirects, forged
cursors). The answer must be a status below 500 with no traceback in it; a view that
raises fails the test too (Django's test client re-raises), and hypothesis shrinks the
input to the smallest one that does.

POSTs are fuzzed as a signed-in release manager (and an approver for the decisions) with
the test client's default of not enforcing CSRF: tests/views/test_actions.py checks CSRF.
Fixtures are set up once per test, not per example: the examples share the database,
the cache and the emulator, so later examples also meet the state earlier ones left.
"""

from __future__ import annotations

import base64
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import Group
from django.http import HttpResponseBase
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments_app import forms, roles
from deployments_app.log_forms import iso_utc
from deployments_app.models import EnvironmentPolicy, PromotionRequest
from deployments_app.selectors import HISTORY_PAGE_SIZES, LiveMarker
from deployments_app.services.serverless_paging import CURSOR_PARAMS

pytestmark = pytest.mark.django_db

# About 30 inputs per view keeps the whole module under half a minute. No example
# database: a failure prints its input (and its seed) and the run leaves no files behind.
fuzz = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[
        # The fixtures (emulator, users, database) are meant to be shared by the examples.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

HTMX = {"HTTP_HX_REQUEST": "true"}
# What a page would show if an exception escaped into it (Django's debug page, or a
# formatted traceback); DEBUG is off in tests, so any of these is a leak of internals.
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Exception Value", "Request Method:")

HEX = "0123456789abcdef"
# Values known to trip parsers: unicode digits that str.isdigit() takes and int() does
# not, int() syntax that a regex does not, nulls, CRLF (header injection), markup and
# template syntax, open redirects, numbers out of every integer range.
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1_000",
    "²",
    "٣",
    "1e9",
    "NaN",
    "9" * 40,
    "-" + "9" * 40,
    "on",
    "false",
    "\x00",
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "<script>alert(1)</script>",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "%s%s%n",
    "../../etc/passwd",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "\u202e\u200b\ufeff",
    "🚀" * 3,
    "production",
    "stage",
]

nasty = st.sampled_from(NASTY)
# Very long: a short run of anything, repeated to a few thousand characters.
long_text = st.tuples(st.text(min_size=1, max_size=8), st.integers(200, 6000)).map(
    lambda t: (t[0] * t[1])[: t[1]]
)
any_text = st.one_of(nasty, st.text(max_size=60), long_text)
numbers = st.one_of(st.integers(-(10**20), 10**20).map(str), any_text)


def sid_like(prefix: str, real: Iterable[str] = ()) -> st.SearchStrategy[str]:
    """SID-shaped input: unknown but valid, wrong prefix or length, unicode, very long."""
    hex32 = st.text(HEX + HEX.upper(), min_size=32, max_size=32)
    options: list[st.SearchStrategy[str]] = [
        hex32.map(lambda h: prefix + h),
        st.tuples(st.text(string.ascii_uppercase, min_size=2, max_size=2), hex32).map("".join),
        st.text(HEX, max_size=70).map(lambda h: prefix + h),
        st.text(max_size=40).map(lambda t: prefix + t),
        any_text,
    ]
    real = sorted(set(real))
    if real:
        # Twice: half the inputs get past the form to the upstream.
        options = [st.sampled_from(real), *options, st.sampled_from(real)]
    return st.one_of(options)


def maybe_repeated(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | list[str]]:
    """One value, or the parameter repeated (?q=a&q=b), which QueryDict.get() resolves."""
    return st.one_of(values, st.lists(values, min_size=2, max_size=3))


def params(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict[str, object]]:
    """Any subset of `fields`, plus now and then a parameter no view reads."""
    return st.fixed_dictionaries(
        {}, optional={**fields, "unexpected": any_text, "\u00e9\x00": any_text}
    )


def content(response: HttpResponseBase) -> str:
    streamed = response.streaming and b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return (streamed or response.content).decode("utf-8", errors="replace")


def assert_answered(response: HttpResponseBase) -> None:
    body = content(response)
    assert response.status_code < 500, f"{response.status_code}: {body[:500]}"
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, f"{marker!r} in a {response.status_code}: {body[:500]}"


def segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class Seed:
    """The demo account's real SIDs and names, for inputs that reach the upstream."""

    services: tuple[str, ...]
    environments: tuple[str, ...]
    builds: tuple[str, ...]
    names: tuple[str, ...]
    # (service, environment) pairs that exist, for paths and cursors.
    pairs: tuple[tuple[str, str], ...]


@pytest.fixture
def seed(upstream) -> Seed:
    store = upstream.store
    services = store.services()
    environments = [e for s in services for e in store.environments(s.sid)]
    builds = [b.sid for s in services for b in store.builds(s.sid)[:5]]
    return Seed(
        services=tuple(s.sid for s in services),
        environments=tuple(e.sid for e in environments),
        builds=tuple(builds),
        names=tuple(sorted({s.unique_name for s in services} | {"dev", "stage", "production"})),
        pairs=tuple((s.sid, e.sid) for s in services for e in store.environments(s.sid)),
    )


def signed_in(django_user_model, name: str, *groups: str) -> Client:
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user(name, email=f"{name}@example.com")
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rita(django_user_model, upstream) -> Client:
    return signed_in(django_user_model, "rita", roles.RELEASE_MANAGER)


@pytest.fixture
def anna(django_user_model, upstream) -> Client:
    return signed_in(django_user_model, "anna", roles.APPROVER)


# --- pages -------------------------------------------------------------------------------


@fuzz
@given(data=st.data())
def test_overview_answers_any_filter(rita, seed, data):
    query = data.draw(params({"q": maybe_repeated(st.one_of(any_text, *map(st.just, seed.names)))}))
    htmx = data.draw(st.booleans())
    assert_answered(rita.get("/", query, **(HTMX if htmx else {})))


@fuzz
@given(data=st.data())
def test_overview_row_answers_any_service_sid(rita, seed, data):
    service = data.draw(sid_like("ZS", seed.services))
    assert_answered(rita.get(f"/overview/services/{segment(service)}/", **HTMX))


def cursors(seed: Seed) -> st.SearchStrategy[str]:
    """Forged "Load more" cursors: base64 of the right list, another list, or anything."""
    real_lists = [
        f"/v1/Services/{s}/Environments/{e}/{kind}"
        for s, e in seed.pairs
        for kind in ("Deployments", "Logs")
    ]
    paths = st.one_of(
        st.sampled_from(real_lists),
        st.sampled_from(real_lists).map(lambda p: p.replace("/Deployments", "/Variables")),
        st.sampled_from(["/v1/Services", "/v1/../v2/x", "//evil.example/v1/", "https://x/"]),
        st.text(max_size=40),
    )
    query = st.dictionaries(
        st.one_of(st.sampled_from(sorted(CURSOR_PARAMS)), st.text(max_size=8)),
        st.one_of(st.integers(-5, 5000).map(str), nasty, numbers),
        max_size=3,
    )

    def encode(path: str, query: dict[str, str]) -> str:
        target = f"{path}?{urlencode(query)}" if query else path
        return base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")

    return st.one_of(st.builds(encode, paths, query), any_text)


def live_tokens(seed: Seed) -> st.SearchStrategy[str]:
    """The signed live marker: genuine ones (of real or odd SIDs), tampered ones, text."""
    sids = st.one_of(st.sampled_from(seed.builds), sid_like("ZD"), st.just(""))
    genuine = st.builds(
        lambda d, b: forms.live_token(LiveMarker(deployment_sid=d or None, build_sid=b or None)),
        sids,
        sids,
    )
    tampered = st.tuples(genuine, st.text(min_size=1, max_size=3)).map("".join)
    return st.one_of(genuine, tampered, any_text)


@fuzz
@given(data=st.data())
def test_environment_page_answers_any_sids_and_history_query(rita, seed, data):
    service, environment = data.draw(
        st.one_of(
            st.sampled_from(seed.pairs),
            st.sampled_from(seed.pairs),
            st.tuples(sid_like("ZS", seed.services), sid_like("ZE", seed.environments)),
        )
    )
    sizes = st.sampled_from([str(s) for s in HISTORY_PAGE_SIZES])
    query = data.draw(
        params(
            {
                "page_size": maybe_repeated(st.one_of(sizes, numbers)),
                "cursor": cursors(seed),
                "shown": numbers,
                "live": live_tokens(seed),
            }
        )
    )
    htmx = data.draw(st.booleans())
    url = f"/services/{segment(service)}/environments/{segment(environment)}/"
    assert_answered(rita.get(url, query, **(HTMX if htmx else {})))


@pytest.mark.parametrize("param", ["PageSize", "Page"])
def test_a_forged_cursor_with_a_unicode_digit_is_refused_not_a_500(rita, seed, param):
    # Found by the test above: "²".isdigit() is true and int("²") raises ValueError.
    service, environment = seed.pairs[0]
    target = f"/v1/Services/{service}/Environments/{environment}/Deployments?{param}=%C2%B2"
    cursor = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
    url = f"/services/{service}/environments/{environment}/"
    for headers in ({}, HTMX):
        response = rita.get(url, {"cursor": cursor}, **headers)
        assert_answered(response)
        assert response.status_code == 400


def since_values() -> st.SearchStrategy[str]:
    """Deploy times: recent, future, too old, odd offsets, impossible dates, or text."""
    moments = st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.timezones()
    ).map(lambda d: d.isoformat())
    # Past, just ahead (within the form's tolerance for another clock), or far ahead.
    offsets = st.one_of(st.integers(-40 * 86400, 0), st.integers(1, 40 * 86400))
    recent = offsets.map(lambda s: iso_utc(timezone.now() + timedelta(seconds=s)))
    odd = st.sampled_from(
        ["2025-13-40T25:61:00Z", "2025-06-11T14:30:00+99:00", "0000-00-00", "now", "-1"]
    )
    return st.one_of(recent, recent, moments, odd, any_text)


@fuzz
@given(data=st.data())
def test_logs_page_answers_any_sids_and_filters(rita, seed, data):
    service, environment = data.draw(
        st.one_of(
            st.sampled_from(seed.pairs),
            st.tuples(sid_like("ZS", seed.services), sid_like("ZE", seed.environments)),
        )
    )
    query = data.draw(
        params(
            {
                "level": st.one_of(st.sampled_from(["", "info", "warn", "error"]), any_text),
                "function": sid_like("ZH"),
                "window": st.one_of(st.sampled_from(["1h", "24h", "7d"]), any_text),
                "since": since_values(),
                "cursor": cursors(seed),
                "shown": numbers,
            }
        )
    )
    htmx = data.draw(st.booleans())
    url = f"/services/{segment(service)}/environments/{segment(environment)}/logs/"
    assert_answered(rita.get(url, query, **(HTMX if htmx else {})))


@fuzz
@given(data=st.data())
def test_deploy_health_answers_any_since(rita, seed, data):
    service, environment = data.draw(st.sampled_from(seed.pairs))
    query = data.draw(params({"since": maybe_repeated(since_values())}))
    url = f"/services/{segment(service)}/environments/{segment(environment)}/health/"
    assert_answered(rita.get(url, query, **HTMX))


def test_a_deploy_time_a_minute_ahead_is_answered_not_a_500(rita, seed):
    service, environment = seed.pairs[0]
    ahead = iso_utc(timezone.now() + timedelta(seconds=60))
    url = f"/services/{service}/environments/{environment}/health/"
    response = rita.get(url, {"since": ahead}, **HTMX)
    assert_answered(response)
    assert response.status_code == 200


@fuzz
@given(data=st.data())
def test_build_page_answers_any_sids(rita, seed, data):
    service = data.draw(sid_like("ZS", seed.services))
    build = data.draw(sid_like("ZB", seed.builds))
    headers = data.draw(st.sampled_from([{}, HTMX, {**HTMX, "HTTP_HX_TARGET": "build-status"}]))
    url = f"/services/{segment(service)}/builds/{segment(build)}/"
    assert_answered(rita.get(url, **headers))


@fuzz
@given(data=st.data())
def test_build_label_answers_any_form(rita, seed, data):
    service = data.draw(sid_like("ZS", seed.services))
    build = data.draw(sid_like("ZB", seed.builds))
    body = data.draw(params({"label": maybe_repeated(any_text), "note": any_text}))
    url = f"/services/{segment(service)}/builds/{segment(build)}/label/"
    assert_answered(rita.post(url, body))


@fuzz
@given(data=st.data())
def test_compare_page_answers_any_builds_and_environments(rita, seed, data):
    service = data.draw(sid_like("ZS", seed.services))
    build = sid_like("ZB", seed.builds)
    environment = sid_like("ZE", seed.environments)
    query = data.draw(
        params(
            {
                "head": build,
                "base": build,
                "environment": environment,
                "source": environment,
                "target": environment,
            }
        )
    )
    htmx = data.draw(st.booleans())
    url = f"/services/{segment(service)}/compare/"
    assert_answered(rita.get(url, query, **(HTMX if htmx else {})))


# --- deployment actions ----------------------------------------------------------------------


def action_fields(action: str, seed: Seed) -> dict[str, st.SearchStrategy]:
    """The fields of the action's form (forms.py), each fuzzed."""
    service = maybe_repeated(sid_like("ZS", seed.services))
    environment = sid_like("ZE", seed.environments)
    flag = st.one_of(st.sampled_from(["on", "true", "1", "false", "0", ""]), any_text)
    fields: dict[str, st.SearchStrategy] = {
        "service": service,
        "reason": any_text,
        "break_glass": flag,
        "freeze_confirmed": flag,
    }
    if action == "promote":
        fields |= {"source": environment, "target": environment}
    else:
        fields["environment"] = environment
    if action == "redeploy":
        fields["build"] = sid_like("ZB", seed.builds)
    if action == "clear":
        fields["confirmation"] = st.one_of(st.sampled_from(seed.names), any_text)
    return fields


def action_input(action: str, seed: Seed) -> st.SearchStrategy[dict[str, object]]:
    fields = action_fields(action, seed)
    required = [name for name in fields if name in {"service", "source", "target"}]
    required += [name for name in fields if name in {"environment", "build"}]
    # The SIDs mostly present (so the form is valid and the service is called), the rest
    # of the fields any subset.
    return st.fixed_dictionaries(
        {name: fields[name] for name in required},
        optional={name: s for name, s in fields.items() if name not in required},
    ) | params(fields)


ACTIONS = ["promote", "redeploy", "restore", "clear"]


@pytest.mark.parametrize("action", ACTIONS)
@fuzz
@given(data=st.data())
def test_action_confirmation_answers_any_query(rita, seed, action, data):
    query = data.draw(action_input(action, seed))
    htmx = data.draw(st.booleans())
    assert_answered(rita.get(f"/actions/{action}/", query, **(HTMX if htmx else {})))


@pytest.mark.parametrize("action", ACTIONS)
@fuzz
@given(data=st.data())
def test_action_post_answers_any_form(rita, seed, action, data):
    body = data.draw(action_input(action, seed))
    htmx = data.draw(st.booleans())
    assert_answered(rita.post(f"/actions/{action}/", body, **(HTMX if htmx else {})))


@fuzz
@given(data=st.data())
def test_refresh_answers_any_form(rita, seed, data):
    # An empty service reconciles the whole account: kept rare, it is the slow one.
    body = data.draw(
        st.fixed_dictionaries(
            {"service": st.one_of(st.sampled_from(seed.services), sid_like("ZS"))},
            optional={"next": maybe_repeated(any_text)},
        )
        | st.just({})
    )
    htmx = data.draw(st.booleans())
    assert_answered(rita.post("/refresh/", body, **(HTMX if htmx else {})))


# --- approvals -------------------------------------------------------------------------------


@pytest.fixture
def open_request(rita, upstream) -> int:
    """A promotion to a protected production, awaiting one approval."""
    service = upstream.store.service("ivr-flows")
    stage = upstream.store.environment_named(service.sid, "stage")
    production = upstream.store.environment_named(service.sid, "production")
    EnvironmentPolicy.objects.create(
        service_sid=service.sid, environment_name="production", promote_from="stage"
    )
    data = {
        "service": service.sid,
        "source": stage.sid,
        "target": production.sid,
        "reason": "fuzz REL-1",
    }
    assert rita.post("/actions/promote/", data, **HTMX).status_code == 200
    return PromotionRequest.objects.get().pk


request_ids = st.one_of(
    st.integers(0, 5).map(str),
    st.integers(0, 2**70).map(str),
    st.text("0123456789", min_size=1, max_size=40),
    any_text,
)


@fuzz
@given(data=st.data())
def test_approval_pages_answer_any_request_id_and_query(rita, open_request, data):
    request_id = data.draw(st.one_of(st.just(str(open_request)), request_ids))
    path = data.draw(
        st.sampled_from(
            ["/approvals/", "/approvals/count/", f"/approvals/{segment(request_id)}/", "/healthz"]
        )
    )
    query = data.draw(params({"page": numbers, "status": any_text}))
    htmx = data.draw(st.booleans())
    assert_answered(rita.get(path, query, **(HTMX if htmx else {})))


@fuzz
@given(data=st.data())
def test_decisions_answer_any_form(rita, anna, open_request, data):
    who = data.draw(st.sampled_from([rita, anna]))
    request_id = data.draw(st.one_of(st.just(str(open_request)), request_ids))
    decision = data.draw(
        st.one_of(
            st.sampled_from(["approve", "reject", "withdraw", "retry", "ratify"]),
            st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=300),
            any_text,
        )
    )
    body = data.draw(
        params({"comment": maybe_repeated(any_text), "revision": st.one_of(numbers, st.just("1"))})
    )
    htmx = data.draw(st.booleans())
    url = f"/approvals/{segment(request_id)}/{segment(decision)}/"
    assert_answered(who.post(url, body, **(HTMX if htmx else {})))


# --- audit -----------------------------------------------------------------------------------


def audit_query(seed: Seed) -> st.SearchStrategy[dict[str, object]]:
    choice = st.one_of(
        st.sampled_from(["promote", "clear", "redeploy", "succeeded", "failed", "refused"]),
        any_text,
    )
    return params(
        {
            "service": st.one_of(sid_like("ZS", seed.services), st.sampled_from(seed.names)),
            "environment": st.one_of(
                sid_like("ZE", seed.environments), st.sampled_from(seed.names)
            ),
            "user": st.one_of(st.just("rita"), any_text),
            "action": choice,
            "outcome": choice,
            "since": st.one_of(
                st.dates().map(str), st.sampled_from(["0000-01-01", "9999-12-31"]), any_text
            ),
            "page": maybe_repeated(numbers),
        }
    )


@pytest.fixture
def audited(rita, seed) -> None:
    """A few audit entries to page through and filter: one refusal of each action."""
    for action in ACTIONS:
        rita.post(f"/actions/{action}/", {"service": seed.services[0]}, **HTMX)


@fuzz
@given(data=st.data())
def test_audit_page_answers_any_filter(rita, seed, audited, data):
    query = data.draw(audit_query(seed))
    htmx = data.draw(st.booleans())
    assert_answered(rita.get("/audit/", query, **(HTMX if htmx else {})))


@fuzz
@given(data=st.data())
def test_audit_export_answers_any_filter(rita, seed, audited, data):
    assert_answered(rita.get("/audit/export.csv", data.draw(audit_query(seed))))


# --- signing in ------------------------------------------------------------------------------


@pytest.fixture
def fast_passwords(settings) -> None:
    # The hasher is not under test; the default one costs a quarter second per attempt.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@fuzz
@given(data=st.data())
def test_login_answers_any_form_and_next(client, fast_passwords, data):
    next_ = st.one_of(st.sampled_from(["/", "/audit/", "//evil.example/"]), any_text)
    query = data.draw(params({"next": maybe_repeated(next_)}))
    assert_answered(client.get("/accounts/login/", query))
    body = data.draw(
        params({"username": any_text, "password": any_text, "next": maybe_repeated(next_)})
    )
    assert_answered(client.post("/accounts/login/", body))


# --- every pattern -----------------------------------------------------------------------------

# The URL names of deployments_app/urls.py that a test above fuzzes.
FUZZED = {
    "overview",
    "overview_row",
    "environment",
    "environment_logs",
    "environment_health",
    "build",
    "build_label",
    "compare",
    "promote",
    "redeploy",
    "restore",
    "clear",
    "refresh",
    "approvals",
    "approvals_count",
    "request",
    "request_decide",
    "audit",
    "audit_export",
    "healthz",
}


def test_every_url_pattern_of_the_app_is_fuzzed():
    from deployments_app import urls

    names = {pattern.name for pattern in urls.urlpatterns}
    assert names - FUZZED == set(), "a view without a fuzz test above"
