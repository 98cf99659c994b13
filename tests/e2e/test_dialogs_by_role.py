"""Dialogs by role and input that is not used, as a person meets them in the browser."""

from __future__ import annotations

import pytest

from tests.e2e.test_accessibility import Scanner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_viewer_who_opens_a_promote_url_reads_why_and_finds_no_button(
    page, live_server, upstream, sign_in, request
):
    # Chromium logs the document's 403 as a console error: it is the point of the test.
    request.node.expected_console_errors = ("status of 403",)
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    sign_in("vic", role="Viewer")
    url = f"/actions/promote/?service={service.sid}&source={dev.sid}&target={stage.sid}"
    upstream.requests.clear()

    response = page.goto(f"{live_server.url}{url}")

    assert response.status == 403
    page.get_by_role("heading", name="Not allowed for your role").wait_for()
    alert = page.get_by_role("alert")
    assert "Your role (Viewer) does not allow you to promote builds." in alert.inner_text()
    assert page.get_by_role("button", name="Promote").count() == 0
    assert page.locator("form[action='/actions/promote/']").count() == 0
    assert list(upstream.requests) == [], "the refusal read nothing from Twilio"
    page.screenshot(path="artifacts/screenshots/dialog_refused_viewer.png", full_page=True)
    axe = Scanner(1366)
    axe(page, "the refused promote page")
    page.get_by_role("link", name="Back to the overview").click()
    page.wait_for_url(f"{live_server.url}/")

    # The same URL through htmx (as a button would open it) fills the dialog instead.
    page.evaluate("url => htmx.ajax('GET', url, {target: '#dialog-body'})", url)
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "does not allow you to promote builds" in dialog.inner_text()
    assert dialog.get_by_role("button", name="Promote").count() == 0
    page.screenshot(path="artifacts/screenshots/dialog_refused_viewer_htmx.png")
    axe(page, "the refused promote dialog")
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")
    axe.assert_clean()
    assert not [r for r in upstream.requests if r.method == "POST"]


def test_a_page_size_that_is_not_offered_is_named_in_a_note(page, live_server, upstream, sign_in):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    sign_in()

    page.goto(f"{live_server.url}/services/{service.sid}/environments/{dev.sid}/?page_size=abc")

    note = page.locator("[data-ignored-input]")
    assert note.is_visible()
    assert note.inner_text() == (
        "Rows per page \N{LEFT DOUBLE QUOTATION MARK}abc\N{RIGHT DOUBLE QUOTATION MARK} is not "
        "one of 25, 50, 100 or 1000; showing 50."
    )
    assert page.get_by_label("Rows per page").input_value() == "50"
    assert page.locator("tr[data-deployment]").count() == 50
    note.scroll_into_view_if_needed()
    page.screenshot(path="artifacts/screenshots/environment_page_size_note.png")
    axe = Scanner(1366)
    axe(page, "the environment page with its note")
    axe.assert_clean()
    # Choosing an offered size answers the note: it goes, and the rows follow the choice.
    page.get_by_label("Rows per page").select_option("25")
    page.wait_for_url("**page_size=25**")
    page.wait_for_function("() => document.querySelectorAll('tr[data-deployment]').length === 25")
    assert page.locator("[data-ignored-input]").count() == 0


def test_the_audit_names_a_page_past_the_end_and_a_date_it_cannot_read(
    page, live_server, sign_in, request
):
    request.node.expected_console_errors = ("status of 400",)
    from deployments_app.models import AuditEntry

    sign_in()
    for n in range(60):
        AuditEntry.objects.create(
            actor="rita",
            action=AuditEntry.Action.PROMOTE,
            service_sid="ZS" + "1" * 32,
            environment_sid="ZE" + "2" * 32,
            environment_name="stage",
            outcome=AuditEntry.Outcome.SUCCEEDED,
            reason=f"release {n}",
        )

    page.goto(f"{live_server.url}/audit/?page=99999")
    note = page.locator("[data-ignored-input]")
    assert note.inner_text() == "Page 99999 does not exist; showing page 2 of 2."
    assert page.locator("#audit-results tbody tr").count() == 10
    page.screenshot(path="artifacts/screenshots/audit_page_note.png")
    axe = Scanner(1366)
    axe(page, "the audit with its page note")

    # A date it cannot read: the filter is refused, named, and nothing is listed.
    page.get_by_label("Since").fill("notadate")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**since=notadate**")
    alert = page.locator("#audit-results").get_by_role("alert")
    alert.wait_for()
    assert "Since: Enter a valid date, as YYYY-MM-DD (UTC)." in alert.inner_text()
    assert page.locator("#audit-results tbody tr").count() == 0
    page.screenshot(path="artifacts/screenshots/audit_since_refused.png")
    axe(page, "the audit refusing its date")
    axe.assert_clean()
