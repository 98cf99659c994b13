"""After stage is rolled back in the browser, its Promote says it moves production back."""

from __future__ import annotations

import pytest

from deployments_app.templatetags.dashboard_tags import short_sid
from tests.e2e.conftest import ARTIFACTS, overview_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


def test_a_rolled_back_stage_promotes_to_production_only_as_a_step_back_with_a_reason(
    page, live_server, upstream, sign_in, reconciled
):
    store = upstream.store
    service = store.service("sms-notifications")
    stage = store.environment_named(service.sid, "stage")
    production = store.environment_named(service.sid, "production")
    newer = store.build(production.build_sid)
    assert stage.build_sid == newer.sid
    older = next(
        d.build_sid
        for d in store.deployments(stage.sid)
        if d.build_sid
        and store.build(d.build_sid).status == "completed"
        and store.build(d.build_sid).date_created < newer.date_created
    )
    sign_in()

    # Roll stage back through its history.
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{stage.sid}/")
    page.locator(f'[data-redeploy="{older}"]').first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why roll back?").fill("5xx on /sms/send")
    dialog.get_by_role("button", name="Roll back").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert store.environment(stage.sid).build_sid == older

    # The overview: stage's Promote says where it goes, and that it is a step back.
    page.goto(f"{live_server.url}/")
    overview_settled(page)
    cell = page.locator(f"#cell-{stage.sid}")
    promote = cell.get_by_role("link", name="Promote to production (older build) →")
    promote.wait_for()
    assert "behind production" in cell.inner_text()
    assert cell.get_by_role("link", name="Promote to production →", exact=True).count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, size in (("1440", WIDE), ("390", PHONE)):
        page.set_viewport_size(size)
        if size is PHONE:  # a phone folds each service to one line: open this one
            cell.locator("xpath=ancestor::details[1]/summary").click()
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(ARTIFACTS / f"overview_cell_promote_backward_{name}.png"))
    page.set_viewport_size(WIDE)

    # The dialog: the warning, and a reason it will not submit without.
    promote.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    words = " ".join(dialog.inner_text().split())
    assert "This moves production back to an older build" in words
    assert f"({short_sid(older)} created " in words
    assert f"← {short_sid(newer.sid)} created " in words
    reason = dialog.get_by_label("Why go back to the older build?")
    assert reason.get_attribute("required") is not None
    for name, size in (("1440", WIDE), ("390", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"dialog_promote_backward_{name}.png"))
    page.set_viewport_size(WIDE)
    upstream.requests.clear()
    dialog.get_by_role("button", name="Promote").click()
    assert reason.evaluate("input => input.validity.valueMissing")
    page.wait_for_timeout(300)
    assert not [r for r in upstream.requests if r.method == "POST"]
    assert store.environment(production.sid).build_sid == newer.sid

    reason.fill("the same 5xx are in production")
    dialog.get_by_role("button", name="Promote").click()
    message = page.locator("#messages").get_by_role("status")
    message.wait_for()
    assert "Promoted" in message.inner_text()
    assert store.environment(production.sid).build_sid == older
