"""Twilio misbehaving, as a release manager's browser sees it (issue 10, "Faults survived").

For each fault: the overview, an environment page and a promotion answer with a clear
message (a 502 with the message, never a 500); a promotion is deployed at most once and
its audit entry's outcome is what Twilio really did; and once the fault ends, the same
request succeeds, with nothing restarted or reset in between.

The client-level behaviour (retries, the typed errors) is tested in
tests/services/test_serverless_faults.py; this file drives the whole app over HTTP.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from deployments_app.models import AuditEntry
from deployments_app.services.serverless import reset_client
from serverless_emulator import Emulator, Fault
from tests.faults.conftest import (
    DASHBOARD_PAGE_UPSTREAM_SECONDS,
    DEPLOYMENTS,
    HTMX,
    READ_TIMEOUT,
    assert_clear,
    deployment_posts,
    entries,
    twilio_down,
)

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
UNAVAILABLE = "Twilio did not answer properly"
BUDGET_SPENT = "Twilio is answering too slowly: this page stopped waiting after 2 s"


# --- the pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFault:
    name: str
    start: Callable[[Emulator], object]
    end: Callable[[Emulator], object]
    says: str


def _add(*faults: Fault) -> Callable[[Emulator], None]:
    def add(emulator: Emulator) -> None:
        for fault in faults:
            emulator.faults.add(replace(fault))  # a fresh count for every test

    return add


def _clear(emulator: Emulator) -> None:
    emulator.faults.clear()


LASTING_FAULTS = [
    PageFault("connection refused", twilio_down, Emulator.start, UNAVAILABLE),
    PageFault(
        "slower than the read timeout",
        _add(Fault(method="GET", status=None, delay_ms=1500, count=None)),
        _clear,
        UNAVAILABLE,
    ),
    PageFault(
        "503 that lasts", _add(Fault(method="GET", status=503, count=None)), _clear, UNAVAILABLE
    ),
    PageFault(
        "429 asking for longer than the cap",
        _add(Fault(method="GET", status=429, retry_after=30, count=None)),
        _clear,
        "try again in 30 s",
    ),
    PageFault(
        "malformed JSON",
        _add(Fault(method="GET", status=200, body="malformed", count=None)),
        _clear,
        UNAVAILABLE,
    ),
]


@pytest.mark.parametrize("fault", LASTING_FAULTS, ids=lambda f: f.name)
@pytest.mark.parametrize("page", ["overview", "environment"])
def test_a_page_names_the_fault_then_recovers_once_it_ends(
    twilio, promotion, manager_client, settings, fault, page
):
    # Each read may retry as long as the whole page may take (as in production), so only
    # the page's budget keeps a page of several reads from taking a multiple of it.
    settings.TWILIO_RETRY_BUDGET_SECONDS = DASHBOARD_PAGE_UPSTREAM_SECONDS
    reset_client()
    # The overview is a page with the message where its rows would be; an environment
    # page cannot be shown at all, so it is the message (as a Bad Gateway).
    url, status = ("/", 200) if page == "overview" else (promotion.page, 502)
    fault.start(twilio)

    started = time.monotonic()
    response = manager_client.get(url)
    took = time.monotonic() - started

    # Which words depends on whether the budget ran out before the last read began.
    assert_clear(response, status=status, says=(fault.says, BUDGET_SPENT))
    assert 'class="alert alert--error" role="alert"' in response.content.decode()
    # Held about as long as the page's upstream budget, retries and timeouts included
    # (the slack is for rendering on a busy machine).
    assert took < DASHBOARD_PAGE_UPSTREAM_SECONDS + 2 * READ_TIMEOUT, took

    fault.end(twilio)
    recovered = manager_client.get(url)
    assert recovered.status_code == 200
    assert promotion.live() in recovered.content.decode()


def test_an_htmx_request_gets_the_message_as_a_fragment_to_swap(twilio, promotion, manager_client):
    twilio_down(twilio)
    fragment = manager_client.get(promotion.page, **HTMX)
    body = assert_clear(fragment, status=502, says=UNAVAILABLE)
    assert body.strip().startswith('<p class="alert alert--error" role="alert">')
    twilio.start()
    assert manager_client.get(promotion.page, **HTMX).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        Fault(method="GET", status=503, count=2),  # flapping: retried until it passes
        Fault(method="GET", status=503, body="html", count=2),  # a proxy's error page
        Fault(method="GET", status=429, retry_after=1, count=1),
        Fault(method="GET", drop_connection=True, count=1),
    ],
    ids=["flapping 503", "flapping 503 html", "429 Retry-After 1", "dropped connection"],
)
def test_a_passing_fault_on_reads_is_retried_and_the_page_renders(
    twilio, promotion, manager_client, fault
):
    added = twilio.faults.add(replace(fault))
    response = manager_client.get(promotion.page)
    assert response.status_code == 200
    assert added.hits == added.count  # the fault did happen, and was ridden out
    assert promotion.live() in response.content.decode()


def test_pages_under_a_random_error_rate_render_and_show_at_most_inline_errors(
    twilio, promotion, manager_client
):
    twilio.faults.error_rate = 0.3
    for url in ["/", promotion.page, "/"]:
        response = manager_client.get(url)
        body = html.unescape(response.content.decode())
        assert response.status_code in (200, 502), body[:500]
        assert "Traceback" not in body
        if response.status_code == 502:
            assert UNAVAILABLE in body
    assert any(r.status == 503 for r in twilio.requests)

    twilio.faults.clear()
    assert manager_client.get(promotion.page).status_code == 200
    overview = manager_client.get("/")
    assert overview.status_code == 200
    assert UNAVAILABLE not in html.unescape(overview.content.decode())


# --- the promotion -----------------------------------------------------------------------


def test_promote_while_twilio_is_down_is_audited_then_succeeds_once_it_is_back(
    twilio, promotion, manager_client
):
    before, live = promotion.deployments(), promotion.live()
    form = promotion.form
    twilio_down(twilio)

    assert_clear(promotion.post(manager_client), status=502, says=UNAVAILABLE)
    (failed,) = entries()
    assert (failed.outcome, failed.error_kind) == (Outcome.FAILED, "upstream_unavailable")

    twilio.start()
    assert promotion.deployments() == before, "nothing was deployed while it was down"
    assert deployment_posts(twilio) == []
    response = manager_client.post("/actions/promote/", form, **HTMX)
    assert_clear(response, status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert promotion.live() != live
    assert [e.outcome for e in entries()] == [Outcome.FAILED, Outcome.SUCCEEDED]


def test_without_javascript_the_failure_is_shown_on_the_page_it_lands_on(
    twilio, promotion, manager_client
):
    form = promotion.form
    twilio.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=503))
    landed = manager_client.post("/actions/promote/", form, follow=True)
    assert landed.redirect_chain == [("/", 302)]
    assert_clear(landed, status=200, says="Nothing changed; you can try again")

    landed = manager_client.post("/actions/promote/", form, follow=True)
    assert_clear(landed, status=200, says="Promoted")
    assert [e.outcome for e in entries()] == [Outcome.FAILED, Outcome.SUCCEEDED]


@dataclass(frozen=True)
class PostFault:
    """A fault on the deployment POST, and what Twilio really did."""

    name: str
    fault: Fault
    status: int
    says: str
    deployed: bool
    outcome: str


POST_FAULTS = [
    PostFault(
        "timeout after the POST took effect",
        Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1500, after_effect=True),
        200,
        "Promoted",
        deployed=True,
        outcome=Outcome.SUCCEEDED,
    ),
    PostFault(
        "timeout, the POST lands while the environment is re-read",
        Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1200),
        200,
        "Promoted",
        deployed=True,
        outcome=Outcome.SUCCEEDED,
    ),
    PostFault(
        "flapping 503",
        Fault(method="POST", path=DEPLOYMENTS, status=503),
        502,
        "Nothing changed; you can try again",
        deployed=False,
        outcome=Outcome.FAILED,
    ),
    PostFault(
        "429 with Retry-After",
        Fault(method="POST", path=DEPLOYMENTS, status=429, retry_after=1),
        502,
        "try again in 1 s",
        deployed=False,
        outcome=Outcome.FAILED,
    ),
    PostFault(
        "malformed 201 after the POST took effect",
        Fault(method="POST", path=DEPLOYMENTS, status=201, body="malformed", after_effect=True),
        200,
        "Promoted",
        deployed=True,
        outcome=Outcome.SUCCEEDED,
    ),
    PostFault(
        "malformed 201, nothing done",
        Fault(method="POST", path=DEPLOYMENTS, status=201, body="malformed"),
        502,
        "Nothing changed; you can try again",
        deployed=False,
        outcome=Outcome.FAILED,
    ),
    PostFault(
        "connection dropped after the POST took effect",
        Fault(method="POST", path=DEPLOYMENTS, drop_connection=True, after_effect=True),
        200,
        "Promoted",
        deployed=True,
        outcome=Outcome.SUCCEEDED,
    ),
]


@pytest.mark.parametrize("case", POST_FAULTS, ids=lambda c: c.name)
def test_a_fault_on_the_deployment_post_is_audited_as_twilio_did_and_never_repeated(
    twilio, promotion, manager_client, case
):
    before, wanted = promotion.deployments(), promotion.env("dev").build_sid
    twilio.faults.add(replace(case.fault))

    assert_clear(promotion.post(manager_client), status=case.status, says=case.says)

    assert len(deployment_posts(twilio, expect=1)) == 1, "sent once, never retried"
    time.sleep(0.1)  # and no second one follows
    assert promotion.deployments() == before + case.deployed
    (entry,) = entries()
    assert entry.outcome == case.outcome
    assert (promotion.live() == wanted) is case.deployed
    if case.deployed:
        assert entry.deployment_sid == twilio.store.deployments(promotion.stage)[0].sid

    # The fault has passed (each hits once): the same click now does what is left to do.
    again = promotion.post(manager_client)
    assert_clear(again, status=200, says="already live" if case.deployed else "Promoted")
    assert promotion.deployments() == before + 1, "exactly one deployment in the end"
    assert promotion.live() == wanted
    assert [e.outcome for e in entries()][-1] == (
        Outcome.NOOP if case.deployed else Outcome.SUCCEEDED
    )
    assert len(deployment_posts(twilio)) == 2 - case.deployed


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (Fault(method="GET", status=None, delay_ms=1500, count=None), UNAVAILABLE),
        (Fault(method="GET", status=503, count=None), UNAVAILABLE),
        (Fault(method="GET", status=429, retry_after=30, count=None), "try again in 30 s"),
        (Fault(method="GET", status=200, body="malformed", count=None), UNAVAILABLE),
    ],
    ids=["slow", "503", "429", "malformed"],
)
def test_a_fault_on_the_reads_before_the_post_fails_the_promotion_without_a_post(
    twilio, promotion, manager_client, fault, says
):
    before = promotion.deployments()
    twilio.faults.add(replace(fault))

    assert_clear(promotion.post(manager_client), status=502, says=says)
    assert deployment_posts(twilio) == []
    (entry,) = entries()
    assert entry.outcome == Outcome.FAILED
    assert entry.error_message in html.unescape(promotion.post(manager_client).content.decode())

    twilio.faults.clear()
    assert_clear(promotion.post(manager_client), status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert [e.outcome for e in entries()] == [Outcome.FAILED] * 2 + [Outcome.SUCCEEDED]


def test_flapping_reads_during_a_promotion_are_ridden_out(twilio, promotion, manager_client):
    before = promotion.deployments()
    twilio.faults.add(Fault(method="GET", status=503, count=2))
    twilio.faults.add(Fault(method="GET", status=429, retry_after=1, count=1))
    assert_clear(promotion.post(manager_client), status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert [e.outcome for e in entries()] == [Outcome.SUCCEEDED]


def test_retrying_under_a_random_error_rate_deploys_exactly_once(twilio, promotion, manager_client):
    """A person clicking again after each failure: every click audited, one deployment."""
    before, wanted = promotion.deployments(), promotion.env("dev").build_sid
    twilio.faults.error_rate = 0.35
    answers = []
    for _ in range(12):
        response = promotion.post(manager_client)
        body = html.unescape(response.content.decode())
        assert response.status_code in (200, 502), body[:500]
        answers.append(response.status_code)
        if promotion.live() == wanted and response.status_code == 200:
            break
    twilio.faults.clear()

    assert promotion.live() == wanted
    assert promotion.deployments() == before + 1
    created = [p for p in deployment_posts(twilio) if p.status == 201]
    assert len(created) == 1
    outcomes = [e.outcome for e in entries()]
    assert len(outcomes) == len(answers), "every click has its entry"
    assert outcomes.count(Outcome.SUCCEEDED) == 1
    # A 503 on the POST is re-read; should the re-read fail too, the click is unknown.
    assert set(outcomes) <= {Outcome.SUCCEEDED, Outcome.FAILED, Outcome.UNKNOWN}


def test_a_post_that_lands_after_the_client_gave_up_is_unknown_then_settled_succeeded(
    twilio, promotion, manager_client
):
    """Slower than the read timeout and the settle re-reads together: the POST lands late.

    Saying "nothing changed, try again" would be false and invite a second deployment.
    """
    before, wanted = promotion.deployments(), promotion.env("dev").build_sid
    twilio.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=3500))

    body = assert_clear(promotion.post(manager_client), status=502, says="before trying again")
    assert "Nothing changed" not in body
    (entry,) = entries()
    assert entry.outcome == Outcome.UNKNOWN

    assert len(deployment_posts(twilio, expect=1)) == 1  # it has landed now
    assert promotion.live() == wanted
    refresh = manager_client.post("/refresh/", {"service": promotion.service.sid}, **HTMX)
    assert_clear(refresh, status=200, says="1 unfinished action(s) settled")
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED

    assert_clear(promotion.post(manager_client), status=200, says="already live")
    assert promotion.deployments() == before + 1
    assert len(deployment_posts(twilio)) == 1
