"""The soak rule: production only takes builds that ran N minutes on stage with no errors
(issue 11). The button says why it is not offered; the server refuses with the same words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from deployments_app.models import AuditEntry, EnvironmentPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def ivr(upstream):
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    EnvironmentPolicy.objects.create(
        service_sid=service.sid, environment_name="production", protected=False, soak_minutes=30
    )
    return store, service, envs


def promote(client, service, source, target):
    return client.post(
        "/actions/promote/",
        {"service": service.sid, "source": source.sid, "target": target.sid},
        HTTP_HX_REQUEST="true",
    )


def stage_cell(client, service, stage) -> str:
    row = client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    return row.content.decode().split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]


def test_a_build_fresh_on_stage_waits_with_the_reason_on_the_button_and_the_server(
    upstream, manager_client, ivr
):
    store, service, envs = ivr
    dev, stage, production = envs["dev"], envs["stage"], envs["production"]
    assert promote(manager_client, service, dev, stage).status_code < 400
    cell = stage_cell(manager_client, service, stage)
    message = re.search(r"data-soak-message>([^<]+)<", cell).group(1)
    assert message.startswith("stage soak: 0 of 30 minutes.")
    assert "data-soak disabled" in cell
    assert 'hx-get="/actions/promote/' not in cell  # no live Promote button
    before = production.build_sid
    response = promote(manager_client, service, stage, production)
    assert response.status_code == 409
    assert "stage soak: 0 of 30 minutes." in response.content.decode()
    assert store.environment_named(service.sid, "production").build_sid == before
    entry = AuditEntry.objects.filter(environment_sid=production.sid).latest("created_at")
    assert entry.outcome == "refused"
    assert "stage soak: 0 of 30 minutes." in entry.error_message
    dialog = manager_client.get(
        f"/actions/promote/?service={service.sid}&source={stage.sid}&target={production.sid}",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "stage soak: 0 of 30 minutes." in dialog
    assert re.search(r'type="submit"[^>]*disabled', dialog)


def test_a_build_that_soaked_cleanly_is_promoted(upstream, manager_client, ivr):
    store, service, envs = ivr
    stage, production = envs["stage"], envs["production"]
    # The seed's stage build has been live for days, and it logged no error in its first
    # 30 minutes there.
    live = max(
        (d for d in store.deployments(stage.sid) if d.build_sid == stage.build_sid),
        key=lambda d: d.date_created,
    )
    start = live.date_created
    assert not [
        log for log in store.logs(stage.sid, start=start, end=start + 1800) if log.level == "error"
    ]
    assert "data-soak" not in stage_cell(manager_client, service, stage)
    assert promote(manager_client, service, stage, production).status_code < 400
    assert store.environment_named(service.sid, "production").build_sid == stage.build_sid


def test_an_error_during_the_soak_refuses_the_promotion(upstream, manager_client, ivr):
    store, service, envs = ivr
    stage, production = envs["stage"], envs["production"]
    live = max(
        (d for d in store.deployments(stage.sid) if d.build_sid == stage.build_sid),
        key=lambda d: d.date_created,
    )
    at = datetime.fromtimestamp(live.date_created, UTC) + timedelta(minutes=10)
    store.add_log(stage.sid, level="error", message="boom", date_created=int(at.timestamp()))
    response = promote(manager_client, service, stage, production)
    assert response.status_code == 409
    body = response.content.decode()
    assert (
        "stage soak failed: 1 error-level log in the 30 minutes after its build went live." in body
    )
    assert store.environment_named(service.sid, "production").build_sid == production.build_sid


def test_the_soak_time_is_edited_in_the_admin_beside_the_approval_policy(admin_client, ivr):
    policy = EnvironmentPolicy.objects.get()
    page = admin_client.get(f"/admin/deployments_app/environmentpolicy/{policy.pk}/change/")
    assert 'name="soak_minutes"' in page.content.decode()
    assert 'name="required_approvals"' in page.content.decode()
