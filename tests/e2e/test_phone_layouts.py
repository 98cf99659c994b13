"""At 390 px: history rows as cards, Clear behind "More", the overview folded per service.

At 1440 px the same pages keep their desktop layout: one table row per deployment, Clear
under the title, every service's cells shown without a summary to click.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def longest_history(upstream):
    return max(
        ((s, e) for s in upstream.store.services() for e in upstream.store.environments(s.sid)),
        key=lambda pair: len(upstream.store.deployments(pair[1].sid)),
    )


def assert_within_width(locator, width: int, what: str) -> None:
    assert locator.is_visible(), f"{what} is not visible"
    box = locator.bounding_box()
    assert box, f"{what} has no box"
    assert box["x"] >= 0, f"{what} starts left of the screen: {box}"
    assert box["x"] + box["width"] <= width, f"{what} ends right of the screen: {box}"


def test_history_rows_are_cards_on_a_phone_with_every_field_and_redeploy(
    page, live_server, upstream, reconciled, sign_in
):
    page.set_viewport_size(PHONE)
    sign_in()
    service, env = longest_history(upstream)
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{env.sid}/")
    page.locator("#load-more").click()
    page.wait_for_function(
        "() => document.querySelectorAll('tbody#history-body tr[data-deployment]').length > 50"
    )
    rows = page.locator("tbody#history-body tr[data-deployment]")
    redeploys = 0
    # Rows from the first page and from "Load more" alike.
    for row in rows.all():
        sid = row.get_attribute("data-deployment")
        for label in ("Deployment", "Build", "Date (UTC)", "Build status", "Deployed by"):
            cell = row.locator(f'td[data-label="{label}"]')
            row.scroll_into_view_if_needed()
            assert_within_width(cell, PHONE["width"], f"{label} of {sid}")
        redeploy = row.locator("[data-redeploy]")
        if redeploy.count():
            assert_within_width(redeploy, PHONE["width"], f"Redeploy of {sid}")
            redeploys += 1
    assert redeploys, "no row offered Redeploy"
    more = page.locator("#load-more")
    more.scroll_into_view_if_needed()
    assert_within_width(more, PHONE["width"], "Load more")
    assert more.evaluate("a => a.scrollWidth <= a.clientWidth")
    assert more.inner_text() == "Load more"
    page.screenshot(path=str(SCREENSHOTS / "phone_environment_load_more_390.png"))
    rows.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "phone_environment_history_390.png"))


def test_clear_sits_behind_more_on_a_phone_and_under_the_title_on_a_desktop(
    page, live_server, upstream, reconciled, sign_in
):
    page.set_viewport_size(PHONE)
    sign_in()
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{dev.sid}/")
    clear = page.get_by_role("link", name="Clear environment")
    expect(clear).to_have_count(0)
    more = page.locator("details.more-menu > summary")
    assert_within_width(more, PHONE["width"], "More")
    more.click()
    expect(clear).to_have_count(1)
    assert_within_width(clear, PHONE["width"], "Clear environment, in More")
    assert clear.get_attribute("href") == page.locator("#clear-environment").get_attribute("href")
    page.screenshot(path=str(SCREENSHOTS / "phone_environment_more_open_390.png"))
    clear.click()
    expect(page.get_by_role("dialog")).to_contain_text("This takes dev offline.")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()

    page.set_viewport_size(DESKTOP)
    expect(page.locator("#clear-environment")).to_be_visible()
    expect(more).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "desktop_environment_1440.png"), full_page=True)


def test_the_overview_folds_to_one_line_per_service_on_a_phone(
    page, live_server, upstream, reconciled, sign_in
):
    page.set_viewport_size(PHONE)
    sign_in()
    summaries = page.locator("article.service summary.service__summary")
    assert summaries.count() == len(upstream.store.services())
    # Folded from the first look: one line per service.
    expect(page.locator("details.service__details[open]")).to_have_count(0)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.screenshot(path=str(SCREENSHOTS / "phone_overview_folded_390.png"), full_page=True)
    assert height <= 1800, f"the folded overview is {height} px tall"

    service = upstream.store.service("ivr-flows")
    article = page.locator(f"#row-{service.sid}")
    envs = upstream.store.environments(service.sid)
    for env in envs:
        expect(page.locator(f"#cell-{env.sid}")).to_be_hidden()
        # The folded line names each environment and its live build.
        expect(article.locator("summary")).to_contain_text(env.unique_name)
    article.locator("summary").click()
    for env in envs:
        expect(page.locator(f"#cell-{env.sid}")).to_be_visible()
    expect(article.locator("[data-promote]").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "phone_overview_one_open_390.png"), full_page=True)

    # The self-refresh re-renders every row: what the user opened stays open, the rest folded.
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.evaluate("() => htmx.trigger(document.body, 'deploymentChanged')")
    page.wait_for_timeout(300)
    expect(page.locator("details.service__details[open]")).to_have_count(1)
    expect(article.locator("details.service__details")).to_have_attribute("open", "")
    article.locator("summary").click()  # folded again, and that is kept too
    page.reload()
    expect(page.locator("details.service__details[open]")).to_have_count(0)

    # On a desktop there is no summary to click: the cells show as they always did.
    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.locator("summary.service__summary").first).to_be_hidden()
    for env in envs:
        expect(page.locator(f"#cell-{env.sid}")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "desktop_overview_1440.png"), full_page=True)


def test_audit_entries_are_cards_on_a_phone_with_every_field(
    page, live_server, upstream, reconciled, sign_in
):
    from deployments_app.models import AuditEntry

    service = upstream.store.service("ivr-flows")
    stage = upstream.store.environment_named(service.sid, "stage")
    AuditEntry.objects.create(
        actor="rita",
        action=AuditEntry.Action.REDEPLOY,
        service_sid=service.sid,
        service_name=service.friendly_name,
        environment_sid=stage.sid,
        environment_name="stage",
        build_sid=stage.build_sid,
        outcome=AuditEntry.Outcome.FAILED,
        error_message="Twilio did not answer properly (it may be slow or down).",
        reason="Delivery receipts stopped arriving after this build",
    )
    page.set_viewport_size(PHONE)
    sign_in()
    page.goto(f"{live_server.url}/audit/")
    row = page.locator("table.audit tbody tr").first
    for label in ("When and who", "Action and outcome", "Service and environment", "Builds"):
        assert_within_width(row.locator(f'td[data-label="{label}"]'), PHONE["width"], label)
    error = row.locator('td[data-label="Error, reason"]')
    assert_within_width(error, PHONE["width"], "Error, reason")
    expect(error).to_contain_text("Delivery receipts stopped")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "phone_audit_390.png"), full_page=True)
