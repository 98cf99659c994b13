"""After a deployment through the dashboard: its errors on the cell and the environment
page, and a one-click rollback when they rise (issue 11)."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def promote(client, service, source, target):
    response = client.post(
        "/actions/promote/", {"service": service.sid, "source": source.sid, "target": target.sid}
    )
    assert response.status_code < 400, response.content.decode()[:300]


def log_errors(upstream, env, count: int, at: datetime) -> None:
    # Twilio's log dates are whole seconds (its filters too).
    at = at.replace(microsecond=0)
    with upstream.store.batch():
        for _ in range(count):
            upstream.store.add_log(
                env.sid, level="error", message="boom", date_created=at.timestamp()
            )


def health_url(body: str, attribute: str) -> str:
    found = re.search(rf'{attribute}[^>]*hx-get="([^"]+)"', body) or re.search(
        rf'hx-get="([^"]+)"[^>]*{attribute}', body
    )
    assert found, f"no {attribute} in the page"
    return html.unescape(found.group(1))


@pytest.fixture
def promoted(upstream, manager_client):
    """ivr-flows: dev's build promoted to stage through the dashboard a moment ago."""
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    before = stage.build_sid
    promote(manager_client, service, dev, stage)
    return service, stage, before


def test_the_cell_counts_errors_since_a_dashboard_deploy_and_offers_the_rollback(
    upstream, manager_client, promoted
):
    service, stage, before = promoted
    time.sleep(1.1)  # the errors land after the deployment's second
    log_errors(upstream, stage, 3, datetime.now(UTC))
    row = manager_client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    cell = row.content.decode().split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]
    url = health_url(cell, "data-cell-health")
    assert f"rollback={before}" in url
    fragment = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-errors-after="3"' in fragment
    assert 'data-rising="true"' in fragment
    rollback = re.search(r'data-health-rollback="(\w+)" href="([^"]+)"', fragment)
    assert rollback.group(1) == before
    # The normal Redeploy dialog: the one action path, approvals and all.
    dialog = manager_client.get(html.unescape(rollback.group(2)), HTTP_HX_REQUEST="true")
    assert dialog.status_code == 200
    assert "Roll back stage?" in dialog.content.decode()


def test_the_environment_page_shows_the_same_count(upstream, manager_client, promoted):
    service, stage, _ = promoted
    page = manager_client.get(f"/services/{service.sid}/environments/{stage.sid}/")
    url = health_url(page.content.decode(), 'class="live-health"')
    fragment = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-errors-after="0"' in fragment
    assert 'data-rising="false"' in fragment
    assert "data-health-rollback" not in fragment  # nothing rose: no button


def test_quiet_errors_before_the_deploy_are_not_a_rise(upstream, manager_client, promoted):
    service, stage, _ = promoted
    deployed = max(d.date_created for d in upstream.store.deployments(stage.sid))
    # In the window before (as long as the time since the deploy): a second before it.
    log_errors(upstream, stage, 2, datetime.fromtimestamp(deployed, UTC) - timedelta(seconds=1))
    cache.clear()
    page = manager_client.get(f"/services/{service.sid}/environments/{stage.sid}/")
    url = health_url(page.content.decode(), 'class="live-health"')
    fragment = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-errors-before="2"' in fragment
    assert 'data-rising="false"' in fragment


def test_a_viewer_sees_the_count_but_no_rollback_button(
    upstream, manager_client, client, django_user_model, promoted
):
    service, stage, _ = promoted
    time.sleep(1.1)
    log_errors(upstream, stage, 2, datetime.now(UTC))
    client.force_login(django_user_model.objects.create_user("vic", password="pw-vic-health"))
    row = client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    cell = row.content.decode().split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]
    fragment = client.get(health_url(cell, "data-cell-health"), HTTP_HX_REQUEST="true")
    assert 'data-rising="true"' in fragment.content.decode()
    assert "data-health-rollback" not in fragment.content.decode()


def test_a_cell_not_deployed_through_the_dashboard_reads_no_logs(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    row = manager_client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    assert "data-cell-health" not in row.content.decode()
