"""The approval workflow through two real browsers: a release manager and an approver.

Rita (release manager) asks for production in her context; Anna (approver) decides in
hers. What each sees is asserted on the page; what happened upstream on the emulator.
The header badge polls every 30 s and the overview every 10 s, so the pages that wait
for a poll run on Playwright's clock and jump ahead instead of sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deployments_app.models import EnvironmentPolicy, FreezeWindow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def ivr(upstream):
    """ivr-flows with production protected: one approval, only builds that ran on stage."""
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    policy = EnvironmentPolicy.objects.create(
        service_sid=service.sid, environment_name="production", promote_from="stage"
    )
    return SimpleNamespace(
        service=service,
        policy=policy,
        stage=envs["stage"],
        production=envs["production"],
        stage_build=envs["stage"].build_sid,
        production_build=envs["production"].build_sid,
    )


@pytest.fixture
def rita(page, sign_in, ivr):
    """The release manager's page, on the overview, its timers on Playwright's clock.

    After `ivr`: the emulator must be up and the policy in place before the first page.
    """
    page.clock.install()
    sign_in("rita", "Release manager")
    return page


@pytest.fixture
def anna(second_user, ivr):
    """The approver's page, in a context of her own, on the overview."""
    return second_user("anna", "Approver")


def deployment_posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST" and r.path.endswith("/Deployments")]


def live_on(upstream, environment) -> str | None:
    return upstream.store.environment(environment.sid).build_sid


def message(page):
    return page.locator("#messages")


def request_production(page, ivr, reason: str = "Ship the menu timeout fix (REL-42)") -> int:
    """Promote stage to production from the overview; returns the request's number."""
    article = page.locator("article.service", has=page.locator(f"#cell-{ivr.stage.sid}"))
    article.locator("[data-promote='stage']").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("production is protected.")
    dialog.get_by_label("Why?").fill(reason)
    dialog.get_by_role("button", name="Request approval").click()
    status = message(page).get_by_role("status")
    expect(status).to_contain_text(re.compile(r"request #\d+ is awaiting approval \(0 of 1\)"))
    expect(dialog).to_be_hidden()
    number = int(re.search(r"request #(\d+)", status.inner_text()).group(1))
    # The production cell says so at once, with a link to the request.
    awaiting = page.locator(f"#cell-{ivr.production.sid} [data-awaiting]")
    expect(awaiting).to_have_text("awaiting approval (0 of 1)")
    expect(awaiting).to_have_attribute("href", f"/approvals/{number}/")
    return number


def open_request_from_approvals(page, number: int) -> None:
    """The way an approver gets there: Approvals in the header, then the request."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    page.locator(f'[data-request="{number}"]').get_by_role("link").click()
    page.wait_for_url(f"**/approvals/{number}/")


def status_badge(page):
    return page.locator("#request-body .page-head [data-status]")


def snap(page, name: str) -> None:
    """The page as it is now, full length, at desktop and at phone width."""
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"approvals_{name}_{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_an_approver_sees_the_count_approves_and_production_is_deployed(rita, anna, upstream, ivr):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert ivr.stage_build != ivr.production_build
    # Anna's header polls on Playwright's clock, so the test can jump to the next poll.
    anna.clock.install()
    anna.reload()
    badge = anna.locator("[data-approvals-waiting]")
    expect(badge).to_have_count(0)

    number = request_production(rita, ivr)
    assert deployment_posts(upstream) == []
    assert live_on(upstream, ivr.production) == ivr.production_build
    # A release manager approves nothing, so her header has no count.
    expect(rita.locator("[data-approvals-waiting]")).to_have_count(0)

    # Within the badge's 30 s poll, Anna's header counts the request, without a reload.
    anna.clock.fast_forward("00:31")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("title", "1 request waiting for you")

    anna.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    expect(anna.get_by_role("heading", name="Waiting (1)")).to_be_visible()
    item = anna.locator(f'[data-request="{number}"]')
    expect(item).to_contain_text(f"#{number} promote")
    expect(item).to_contain_text("to production")
    expect(item).to_contain_text("asked by rita")
    expect(item).to_contain_text("Ship the menu timeout fix (REL-42)")
    expect(item).to_contain_text("0 of 1 approvals")
    snap(anna, "list")

    item.get_by_role("link").click()
    anna.wait_for_url(f"**/approvals/{number}/")
    body = anna.locator("#request-body")
    expect(status_badge(anna)).to_have_text("Awaiting approval")
    now_side, requested_side, _ = body.locator(".plan__side").all()
    expect(now_side).to_contain_text("production runs now")
    expect(now_side.locator("a").first).to_have_attribute("title", ivr.production_build)
    expect(requested_side).to_contain_text("From stage")
    expect(requested_side.locator("a").first).to_have_attribute("title", ivr.stage_build)
    expect(body).to_contain_text("“Ship the menu timeout fix (REL-42)”")
    expect(body).to_contain_text("only builds that ran on stage")
    expect(anna.get_by_role("heading", name="Decisions (0 of 1 approvals)")).to_be_visible()
    expect(anna.locator("[data-decide=withdraw]")).to_have_count(0)  # not hers to withdraw
    snap(anna, "request")

    anna.get_by_label("Comment").fill("Checked the menu on stage")
    anna.locator("[data-decide=approve]").click()
    expect(message(anna).get_by_role("status")).to_contain_text("Approved and deployed.")
    # The request page re-reads itself, and the header's count goes.
    expect(status_badge(anna)).to_have_text("Deployed")
    expect(anna.get_by_role("heading", name="Decisions (1 of 1 approvals)")).to_be_visible()
    expect(body.locator('[data-approval="approve"]')).to_contain_text("Approved by anna")
    expect(body.locator('[data-approval="approve"]')).to_contain_text("Checked the menu on stage")
    expect(anna.locator("#decide-title")).to_have_count(0)
    expect(badge).to_have_count(0)

    # Upstream: one deployment, of stage's build, to production.
    assert len(deployment_posts(upstream)) == 1
    assert live_on(upstream, ivr.production) == ivr.stage_build
    deployment = upstream.store.deployments(ivr.production.sid)[0]
    expect(body).to_contain_text(deployment.sid)

    # Rita's overview, at its next 10 s poll: production runs stage's build.
    rita.clock.fast_forward("00:11")
    production = rita.locator(f"#cell-{ivr.production.sid}")
    expect(production.locator("a.live-build")).to_have_attribute("title", ivr.stage_build)
    expect(production.locator("[data-awaiting]")).to_have_count(0)
    # She sees the decision on her request.
    rita.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    decided = rita.locator(f'[data-request="{number}"]')
    expect(decided).to_contain_text("Deployed")
    expect(decided).to_contain_text("1 of 1 approvals")
    decided.get_by_role("link").click()
    expect(status_badge(rita)).to_have_text("Deployed")
    expect(rita.locator('[data-approval="approve"]')).to_contain_text("Approved by anna")


def test_a_rejection_ends_the_request_and_the_requester_reads_why(rita, anna, upstream, ivr):
    number = request_production(rita, ivr)
    open_request_from_approvals(anna, number)

    anna.get_by_label("Why reject?").fill("No release notes for REL-42")
    anna.locator("[data-decide=reject]").click()
    expect(message(anna).get_by_role("status")).to_have_text(f"Request #{number} rejected.")
    expect(status_badge(anna)).to_have_text("Rejected")
    expect(anna.locator("[data-decide]")).to_have_count(0)
    expect(anna.locator("[data-approvals-waiting]")).to_have_count(0)

    # Rita's cell stops waiting at its next poll; production kept its build.
    rita.clock.fast_forward("00:11")
    expect(rita.locator(f"#cell-{ivr.production.sid} [data-awaiting]")).to_have_count(0)
    expect(rita.locator(f"#cell-{ivr.production.sid} a.live-build")).to_have_attribute(
        "title", ivr.production_build
    )
    rita.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    expect(rita.get_by_role("heading", name="Waiting (0)")).to_be_visible()
    decided = rita.locator(f'[data-request="{number}"]')
    expect(decided).to_contain_text("Rejected")
    decided.get_by_role("link").click()
    rejection = rita.locator('[data-approval="reject"]')
    expect(rejection).to_contain_text("Rejected by anna")
    expect(rejection).to_contain_text("No release notes for REL-42")
    expect(rita.locator("[data-decide=withdraw]")).to_have_count(0)

    assert deployment_posts(upstream) == []
    assert live_on(upstream, ivr.production) == ivr.production_build


def test_a_withdrawn_request_refuses_the_approver_who_had_it_open(
    rita, anna, upstream, ivr, request
):
    # Anna's late click is answered 409, which Chromium logs as a console error.
    request.node.expected_console_errors = ("status of 409",)
    number = request_production(rita, ivr)
    open_request_from_approvals(anna, number)
    expect(anna.locator("[data-decide=approve]")).to_be_visible()

    rita.locator(f"#cell-{ivr.production.sid} [data-awaiting]").click()
    rita.wait_for_url(f"**/approvals/{number}/")
    expect(rita.locator("[data-decide=approve]")).to_have_count(0)  # not hers to approve
    expect(rita.locator("#request-body")).to_contain_text("You asked for this.")
    rita.locator("[data-decide=withdraw]").click()
    expect(message(rita).get_by_role("status")).to_have_text(f"Request #{number} withdrawn.")
    expect(status_badge(rita)).to_have_text("Withdrawn")
    expect(rita.locator("[data-decide]")).to_have_count(0)

    # Anna still has the page open as it was; her approval comes too late.
    anna.locator("[data-decide=approve]").click()
    expect(message(anna).get_by_role("alert")).to_have_text(
        f"Request #{number} is withdrawn; it takes no more decisions."
    )
    anna.reload()
    expect(status_badge(anna)).to_have_text("Withdrawn")
    expect(anna.locator("[data-decide]")).to_have_count(0)
    expect(anna.locator("[data-approvals-waiting]")).to_have_count(0)

    assert deployment_posts(upstream) == []
    assert live_on(upstream, ivr.production) == ivr.production_build


def test_an_outside_deployment_voids_the_approval_until_approved_again(rita, anna, upstream, ivr):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    number = request_production(rita, ivr)
    open_request_from_approvals(anna, number)

    # Meanwhile someone deploys to production with the Twilio CLI.
    other = next(
        d.build_sid
        for d in upstream.store.deployments(ivr.production.sid)
        if d.build_sid not in (ivr.production_build, ivr.stage_build)
    )
    upstream.store.deploy(ivr.production.sid, other)
    anna.reload()
    changed = anna.locator("[data-target-changed]")
    expect(changed).to_contain_text("production changed since this was requested")
    expect(changed).to_contain_text(f"it runs {other} now, not {ivr.production_build}")

    anna.locator("[data-decide=approve]").click()
    status = message(anna).get_by_role("status")
    expect(status).to_contain_text(
        f"The approved plan changed: production runs {other} now, not {ivr.production_build}"
    )
    expect(status).to_contain_text("The approvals were voided; it needs approving again.")
    body = anna.locator("#request-body")
    expect(body.locator("[data-voided]")).to_contain_text("The approvals were voided.")
    expect(status_badge(anna)).to_have_text("Awaiting approval")
    expect(anna.get_by_role("heading", name="Decisions (0 of 1 approvals)")).to_be_visible()
    voided = body.locator('[data-approval="approve"]')
    expect(voided).to_contain_text("Approved by anna")
    expect(voided.locator(".badge")).to_have_text("voided")
    # The new plan is what production runs now; the warning about the old one is gone.
    expect(body.locator("[data-target-changed]")).to_have_count(0)
    snap(anna, "voided")
    assert deployment_posts(upstream) == []
    assert live_on(upstream, ivr.production) == other

    # Rita sees it waiting again, then Anna approves the new plan and it deploys.
    rita.reload()
    expect(rita.locator(f"#cell-{ivr.production.sid} [data-awaiting]")).to_have_text(
        "awaiting approval (0 of 1)"
    )
    anna.locator("[data-decide=approve]").click()
    expect(message(anna).get_by_role("status")).to_contain_text("Approved and deployed.")
    expect(status_badge(anna)).to_have_text("Deployed")
    assert len(deployment_posts(upstream)) == 1
    assert live_on(upstream, ivr.production) == ivr.stage_build


def test_a_freeze_refuses_the_approved_request_with_its_reason(rita, anna, upstream, ivr):
    number = request_production(rita, ivr)
    now = timezone.now()
    FreezeWindow.objects.create(
        policy=ivr.policy,
        reason="Quarter close",
        kind=FreezeWindow.Kind.ONCE,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    open_request_from_approvals(anna, number)
    expect(anna.locator("[data-freeze]")).to_contain_text("production is frozen: Quarter close.")

    anna.locator("[data-decide=approve]").click()
    expect(message(anna).get_by_role("status")).to_contain_text(
        "Approved, but it did not deploy: production is frozen: Quarter close."
    )
    expect(status_badge(anna)).to_have_text("Deployment failed")
    expect(anna.locator("[data-execution-error]")).to_contain_text(
        "The deployment did not happen: production is frozen: Quarter close."
    )
    # No retry while the freeze lasts: it could only be refused again.
    expect(anna.locator("[data-decide=retry]")).to_have_count(0)

    # Rita's overview, at its next poll: frozen, approved, not deployed.
    rita.clock.fast_forward("00:11")
    production = rita.locator(f"#cell-{ivr.production.sid}")
    expect(production.locator("[data-frozen]")).to_contain_text("frozen: Quarter close, until")
    expect(production.locator("[data-awaiting]")).to_have_text("approved, deployment failed")
    expect(production.locator("a.live-build")).to_have_attribute("title", ivr.production_build)

    assert deployment_posts(upstream) == []
    assert live_on(upstream, ivr.production) == ivr.production_build
