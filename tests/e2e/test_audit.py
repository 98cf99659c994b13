"""The audit page as a release manager uses it: filter, read, export."""

from __future__ import annotations

import pytest

from deployments_app.services import deployments

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_action_is_on_the_audit_page_with_its_outcome(page, live_server, upstream, sign_in):
    user = sign_in()
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    deployments.deployment_promote(
        actor=user,
        service_sid=service.sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )
    with pytest.raises(deployments.ActionRefused):
        deployments.environment_clear(
            actor=user, service_sid=service.sid, environment_sid=stage.sid, confirmation="nope"
        )
    page.get_by_role("link", name="Audit").click()
    page.screenshot(path="artifacts/screenshots/audit_page.png", full_page=True)
    rows = page.locator("#audit-results tbody tr")
    assert rows.count() == 2
    assert "Refused" in rows.nth(0).inner_text()
    assert "Succeeded" in rows.nth(1).inner_text()
    page.get_by_label("Outcome").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**outcome=succeeded**")
    page.wait_for_function(
        "() => document.querySelectorAll('#audit-results tbody tr').length === 1"
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), encoding="utf-8") as csv_file:
        text = csv_file.read()
    assert text.count("\n") == 2  # header and the one succeeded entry
    assert dev.build_sid in text
