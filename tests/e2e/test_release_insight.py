"""What a promotion changes and whether it broke anything, in Chromium (issue 11): the diff
in the promote dialog, the overview's next-promotion button, and the error count with its
rollback after a deploy into an environment whose build logs errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440", "390"])
def test_the_promote_dialog_shows_what_changes_before_anyone_confirms(
    page, live_server, upstream, reconciled, sign_in, viewport
):
    page.set_viewport_size(viewport)
    sign_in()
    service = upstream.store.service("ivr-flows")
    article = page.locator(f"#row-{service.sid}")
    if viewport is PHONE:
        article.locator("summary.service__summary").click()
    article.locator("[data-promote='dev']").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("What changes on stage")
    summary = dialog.locator("[data-diff-summary]")
    expect(summary).to_be_visible()
    changed = int(summary.get_attribute("data-changed"))
    assert changed > 0
    group = dialog.locator("details.diff-group").first
    group.locator("summary").click()
    expect(group.locator("li.diff-item").first).to_be_visible()
    expect(dialog.locator("[data-variable='FEATURE_CALLBACK_QUEUE']")).to_contain_text(
        "missing on stage"
    )
    # Every part of the dialog is reachable: the confirm button stays on screen width.
    box = dialog.get_by_role("button", name="Promote").bounding_box()
    assert box["x"] + box["width"] <= viewport["width"]
    page.screenshot(path=str(SCREENSHOTS / f"insight_promote_diff_{viewport['width']}.png"))


def test_the_next_promotion_button_promotes_the_first_lagging_pair(
    page, live_server, upstream, reconciled, sign_in
):
    sign_in()
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    article = page.locator(f"#row-{service.sid}")
    expect(page.locator(f"#cell-{stage.sid} [data-behind-by]")).to_contain_text("behind dev by")
    article.locator("[data-next-promotion='dev']").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Promote to stage?")
    dialog.get_by_role("button", name="Promote").click()
    expect(page.locator("#messages").get_by_role("status")).to_be_visible()
    expect(page.locator(f"#cell-{stage.sid} .live-build")).to_have_attribute("title", dev.build_sid)
    assert store.environment_named(service.sid, "stage").build_sid == dev.build_sid
    # Next in line now: stage → production.
    expect(article.locator("[data-next-promotion]")).to_have_attribute(
        "data-next-promotion", "stage"
    )
    page.screenshot(path=str(SCREENSHOTS / "insight_next_promotion_1440.png"), full_page=True)


def test_errors_after_a_deploy_show_on_the_cell_with_a_rollback(
    page, live_server, upstream, reconciled, sign_in
):
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    before = stage.build_sid
    # dev's build fails every invocation, one a second, wherever it runs.
    store.set_build_traffic(dev.build_sid, error_rate=1.0, every=1.0)
    sign_in()
    page.locator(f"#row-{service.sid} [data-promote='dev']").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Promote").click()
    expect(page.locator("#messages").get_by_role("status")).to_be_visible()
    page.wait_for_timeout(2500)  # a few failing invocations on stage
    page.reload()
    health = page.locator(f"#cell-{stage.sid} [data-deploy-health]")
    expect(health).to_have_attribute("data-rising", "true", timeout=10_000)
    assert int(health.get_attribute("data-errors-after")) >= 1
    expect(health).to_contain_text("Errors rose since this deploy")
    rollback = page.locator(f"#cell-{stage.sid} [data-health-rollback]")
    expect(rollback).to_have_attribute("data-health-rollback", before)
    page.screenshot(path=str(SCREENSHOTS / "insight_errors_after_deploy_1440.png"))
    rollback.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Roll back stage?")
    dialog.get_by_label(re.compile("Why roll back")).fill("Errors since the promotion")
    dialog.get_by_role("button", name=re.compile("Roll back|Redeploy")).click()
    expect(page.locator("#messages").get_by_role("status")).to_be_visible()
    assert store.environment_named(service.sid, "stage").build_sid == before
