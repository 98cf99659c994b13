"""Promote, roll back and clear through the real browser, checked against the emulator."""

from __future__ import annotations

import re

import pytest

from tests.emulator.helpers import sdk_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def named(upstream, service_name: str, env_name: str):
    service = upstream.store.service(service_name)
    return service, upstream.store.environment_named(service.sid, env_name)


def deployment_posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST" and r.path.endswith("/Deployments")]


def test_promote_dev_to_stage_updates_the_cells(page, live_server, upstream, sign_in):
    service, dev = named(upstream, "ivr-flows", "dev")
    _, stage = named(upstream, "ivr-flows", "stage")
    assert dev.build_sid != stage.build_sid
    sign_in()
    page.locator(f"#cell-{dev.sid}").get_by_role("link", name="Promote to stage").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert dev.build_sid in dialog.inner_text()
    assert stage.build_sid in dialog.inner_text()  # what is live on the target now
    page.screenshot(path="artifacts/screenshots/dialog_promote.png")
    dialog.get_by_role("button", name="Promote").click()
    message = page.locator("#messages").get_by_role("status")
    message.wait_for()
    assert "Promoted" in message.inner_text()
    dialog.wait_for(state="hidden")
    # The cells swap in without a reload: stage now shows dev's build.
    page.wait_for_function(
        "([cell, sid]) => document.querySelector(cell + ' a.live-build')?.title === sid",
        arg=[f"#cell-{stage.sid}", dev.build_sid],
    )
    # The official SDK reads the same truth back from the emulator.
    twilio = sdk_client(upstream)
    env = twilio.serverless.v1.services(service.sid).environments(stage.sid).fetch()
    assert env.build_sid == dev.build_sid
    new_sid = upstream.store.deployments(stage.sid)[0].sid
    assert new_sid in message.inner_text()
    assert len(deployment_posts(upstream)) == 1


def test_double_click_on_promote_makes_one_deployment(page, live_server, upstream, sign_in):
    _, dev = named(upstream, "ivr-flows", "dev")
    upstream.faults.latency_ms = 300  # keep the first POST in flight during the second click
    sign_in()
    page.locator(f"#cell-{dev.sid}").get_by_role("link", name="Promote to stage").click()
    button = page.get_by_role("dialog").get_by_role("button", name="Promote")
    button.dblclick()
    page.locator("#messages").get_by_role("status").wait_for()
    page.wait_for_timeout(800)
    assert len(deployment_posts(upstream)) == 1


def test_redeploy_an_older_build_from_history(page, live_server, upstream, sign_in):
    service, dev = named(upstream, "ivr-flows", "dev")
    history = upstream.store.deployments(dev.sid)
    older = next(
        d.build_sid
        for d in history
        if d.build_sid != dev.build_sid and upstream.store.build(d.build_sid).status == "completed"
    )
    sign_in()
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{dev.sid}/")
    page.locator(f'[data-redeploy="{older}"]').first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why roll back?").fill("errors on /voice/incoming")
    dialog.get_by_role("button", name="Roll back").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert upstream.store.environment(dev.sid).build_sid == older
    page.wait_for_function(
        "sid => document.querySelector('tr.is-live a')?.title === sid", arg=older
    )


def test_clear_needs_the_typed_name_and_keeps_the_history(
    page, live_server, upstream, sign_in, request
):
    # The wrong confirmation is answered 400, which Chromium logs as a console error.
    request.node.expected_console_errors = ("status of 400",)
    service, stage = named(upstream, "sms-notifications", "stage")
    before = [d.sid for d in upstream.store.deployments(stage.sid)]
    sign_in()
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{stage.sid}/")
    page.get_by_role("link", name="Clear environment").click()
    dialog = page.get_by_role("dialog")
    assert "answer 404" in dialog.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="artifacts/screenshots/dialog_clear_phone.png")
    page.set_viewport_size({"width": 1366, "height": 900})
    dialog.get_by_label("Type stage to confirm").fill("production")
    dialog.get_by_role("button", name="Clear environment").click()
    dialog.get_by_role("alert").wait_for()
    assert "Type the environment's name" in dialog.get_by_role("alert").inner_text()
    assert upstream.store.environment(stage.sid).build_sid is not None
    dialog.get_by_label("Type stage to confirm").fill("stage")
    dialog.get_by_role("button", name="Clear environment").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert upstream.store.environment(stage.sid).build_sid is None
    page.get_by_text("Nothing deployed").first.wait_for()
    # Twilio deleted the history; the dashboard still shows it, marked.
    page.get_by_text("cleared upstream").first.wait_for()
    shown = page.locator("tr[data-deployment]").evaluate_all(
        "rows => rows.map(r => r.dataset.deployment)"
    )
    assert set(before) <= set(shown)


def test_a_rollback_stays_visible_until_the_next_promotion(page, live_server, upstream, sign_in):
    service, dev = named(upstream, "ivr-flows", "dev")
    _, stage = named(upstream, "ivr-flows", "stage")
    older = next(
        d.build_sid
        for d in upstream.store.deployments(stage.sid)
        if d.build_sid != stage.build_sid
        and upstream.store.build(d.build_sid).status == "completed"
    )
    sign_in()
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{stage.sid}/")
    page.locator(f'[data-redeploy="{older}"]').first.click()
    page.get_by_role("dialog").get_by_label("Why roll back?").fill("checkout broken")
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    page.locator("#messages").get_by_role("status").wait_for()
    page.goto(f"{live_server.url}/")
    note = page.locator(f'#cell-{stage.sid} [data-note="rolled-back"]')
    assert "by rita" in note.inner_text()
    assert "checkout broken" in note.inner_text()
    assert page.locator(f"#cell-{stage.sid}").get_by_text("rita").count() >= 1  # deployed by
    page.screenshot(path="artifacts/screenshots/overview_after_rollback.png", full_page=True)
    # The next promotion ends the rolled-back state.
    page.locator(f"#cell-{dev.sid}").get_by_role("link", name="Promote to stage").click()
    page.get_by_role("dialog").get_by_role("button", name="Promote").click()
    page.locator("#messages").get_by_role("status").wait_for()
    page.locator(f'#cell-{stage.sid} [data-note="rolled-back"]').wait_for(state="detached")


def test_restore_after_a_clear_brings_the_build_back(page, live_server, upstream, sign_in):
    service, prod = named(upstream, "ivr-flows", "production")
    was_live = prod.build_sid
    sign_in()
    page.goto(f"{live_server.url}/services/{service.sid}/environments/{prod.sid}/")
    page.get_by_role("link", name="Clear environment").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Type production to confirm").fill("production")
    dialog.get_by_role("button", name="Clear environment").click()
    page.locator("#messages").get_by_role("status").wait_for()
    page.goto(f"{live_server.url}/")
    cell = page.locator(f"#cell-{prod.sid}")
    assert "Cleared by rita" in cell.locator('[data-note="cleared"]').inner_text()
    cell.get_by_role("link", name=re.compile("Restore")).click()
    page.get_by_role("dialog").get_by_role("button", name="Restore").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert upstream.store.environment(prod.sid).build_sid == was_live
    page.wait_for_function(
        "([cell, sid]) => document.querySelector(cell + ' a.live-build')?.title === sid",
        arg=[f"#cell-{prod.sid}", was_live],
    )


def test_a_change_made_outside_is_marked_and_audited(
    page, live_server, upstream, sign_in, settings
):
    settings.DASHBOARD_LIVE_CACHE_SECONDS = 1
    _, stage = named(upstream, "ivr-flows", "stage")
    _, dev = named(upstream, "ivr-flows", "dev")
    sign_in()
    # The first reconcile records what is live as the baseline.
    page.get_by_role("button", name="Refresh from Twilio").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert "already in step" in page.locator("#messages").inner_text() or (
        "added to the dashboard" in page.locator("#messages").inner_text()
    )
    upstream.store.deploy(stage.sid, dev.build_sid)  # e.g. the Twilio CLI
    page.wait_for_timeout(1_100)  # the cache's lifetime for what is live where
    page.reload()
    note = page.locator(f'#cell-{stage.sid} [data-note="external"]')
    assert "Changed outside the dashboard" in note.inner_text()
    assert "not yet in the audit" in note.inner_text()
    # Refresh records it in the audit, and the cell says so without a reload.
    page.get_by_role("button", name="Refresh from Twilio").click()
    page.locator("#messages").get_by_text("1 change(s) made outside the dashboard").wait_for()
    page.locator(f'#cell-{stage.sid} [data-note="external"]', has_text="recorded in").wait_for()
    page.get_by_role("link", name="Audit").click()
    row = page.locator("#audit-results tbody tr").first
    assert "external" in row.inner_text().lower() or "outside" in row.inner_text().lower()
    assert dev.build_sid in row.inner_text()


def test_promote_from_the_build_page_can_skip_an_environment(page, live_server, upstream, sign_in):
    service, dev = named(upstream, "ivr-flows", "dev")
    _, prod = named(upstream, "ivr-flows", "production")
    sign_in()
    page.goto(f"{live_server.url}/services/{service.sid}/builds/{dev.build_sid}/")
    page.get_by_role("link", name="Promote from dev to production").click()
    page.get_by_role("dialog").get_by_role("button", name="Promote").click()
    page.locator("#messages").get_by_role("status").wait_for()
    assert upstream.store.environment(prod.sid).build_sid == dev.build_sid
    # The page refreshes itself: production is now listed where the build runs.
    page.locator("section[aria-labelledby=running-title]").get_by_role(
        "link", name="production"
    ).wait_for()
