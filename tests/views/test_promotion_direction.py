"""A promotion that moves its target back to an older build: said on the cell, the build
page, the dialog and the request page, and refused without a reason."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from deployments_app.models import AuditEntry, EnvironmentPolicy
from deployments_app.templatetags.dashboard_tags import short_sid

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return html.unescape(response.content.decode())


def cell(body: str, environment_sid: str) -> str:
    return body.split(f'id="cell-{environment_sid}"', 1)[1].split("</li>", 1)[0]


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


@pytest.fixture
def rolled_back(upstream, manager_client):
    """sms-notifications: stage rolled back (by the dashboard) to an older build than the
    one production still runs."""
    store = upstream.store
    service = store.service("sms-notifications")
    stage = store.environment_named(service.sid, "stage")
    production = store.environment_named(service.sid, "production")
    newer = store.build(production.build_sid)
    assert stage.build_sid == newer.sid
    older = next(
        store.build(d.build_sid)
        for d in store.deployments(stage.sid)
        if d.build_sid
        and store.build(d.build_sid).status == "completed"
        and store.build(d.build_sid).date_created < newer.date_created
    )
    data = {
        "service": service.sid,
        "environment": stage.sid,
        "build": older.sid,
        "reason": "5xx on /sms/send",
    }
    response = manager_client.post("/actions/redeploy/", data, **HTMX)
    assert response.status_code == 200, response.content
    assert store.environment(stage.sid).build_sid == older.sid
    upstream.requests.clear()
    return {
        "service": service,
        "stage": store.environment(stage.sid),
        "production": production,
        "older": older,
        "newer": newer,
    }


def promote_data(rolled_back, **extra: str) -> dict[str, str]:
    return {
        "service": rolled_back["service"].sid,
        "source": rolled_back["stage"].sid,
        "target": rolled_back["production"].sid,
        **extra,
    }


def test_after_a_rollback_of_stage_its_cell_says_promoting_moves_production_back(
    rolled_back, manager_client, upstream
):
    service, stage, production = (rolled_back[k] for k in ("service", "stage", "production"))
    body = text(manager_client.get(f"/overview/services/{service.sid}/", **HTMX))
    stage_cell = cell(body, stage.sid)
    assert "Promote to production (older build) →" in stage_cell
    assert "Promote to production →" not in stage_cell
    assert 'data-direction="backward"' in stage_cell
    assert "behind production" in stage_cell
    # production, compared with stage, runs the newer build.
    assert "ahead of stage" in cell(body, production.sid)
    # dev runs the newest build: promoting it to the rolled-back stage is a step forward.
    dev = upstream.store.environment_named(service.sid, "dev")
    assert "Promote to stage →" in cell(body, dev.sid)
    assert "(older build)" not in cell(body, dev.sid)
    assert "behind dev" in cell(body, stage.sid)


def test_the_build_page_says_which_promotions_go_back(rolled_back, manager_client):
    service, older = rolled_back["service"], rolled_back["older"]
    body = text(manager_client.get(f"/services/{service.sid}/builds/{older.sid}/"))
    assert "Promote from stage to production (older build)" in body


def test_the_dialog_says_it_moves_production_back_and_requires_a_reason(
    rolled_back, manager_client
):
    older, newer = rolled_back["older"], rolled_back["newer"]
    older_date, newer_date = (
        datetime.fromtimestamp(b.date_created, UTC).strftime("%Y-%m-%d %H:%M")
        for b in (older, newer)
    )
    response = manager_client.get("/actions/promote/", promote_data(rolled_back), **HTMX)
    dialog = text(response)
    assert response.status_code == 200
    words = " ".join(re.sub(r"<[^>]+>", "", dialog).split())
    assert (
        f"This moves production back to an older build ({short_sid(older.sid)} created "
        f"{older_date} UTC ← {short_sid(newer.sid)} created {newer_date} UTC)"
    ) in words
    assert f'title="{older.sid}"' in dialog
    assert f'title="{newer.sid}"' in dialog
    reason = dialog.split('id="reason"', 1)[1].split(">", 1)[0]
    assert "required" in reason


def test_a_backward_promotion_is_refused_without_a_reason_and_deploys_with_one(
    rolled_back, manager_client, upstream
):
    response = manager_client.post("/actions/promote/", promote_data(rolled_back), **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#dialog-error"
    message = text(response)
    assert "Reason: required" in message
    assert "moves production back to an older build" in message
    assert posts(upstream) == []
    (entry,) = AuditEntry.objects.filter(action="promote")
    assert entry.outcome == "refused"
    assert "Reason: required" in entry.error_message
    production = rolled_back["production"]
    assert upstream.store.environment(production.sid).build_sid == rolled_back["newer"].sid

    data = promote_data(rolled_back, reason="the same 5xx are in production")
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 200, response.content
    assert upstream.store.environment(production.sid).build_sid == rolled_back["older"].sid
    entry = AuditEntry.objects.filter(action="promote").latest("id")
    assert entry.outcome == "succeeded"
    assert entry.reason == "the same 5xx are in production"


def test_any_promotion_may_carry_an_optional_reason_to_the_audit(upstream, manager_client):
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    dialog = text(manager_client.get("/actions/promote/", data, **HTMX))
    assert "moves stage back" not in dialog
    reason = dialog.split('id="reason"', 1)[1].split(">", 1)[0]
    assert "required" not in reason
    response = manager_client.post("/actions/promote/", {**data, "reason": "REL-42"}, **HTMX)
    assert response.status_code == 200
    assert AuditEntry.objects.get().reason == "REL-42"


def test_a_request_to_move_a_protected_environment_back_says_so(rolled_back, manager_client):
    EnvironmentPolicy.objects.create(
        service_sid=rolled_back["service"].sid, environment_name="production"
    )
    data = promote_data(rolled_back, reason="the same 5xx are in production")
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 200, response.content
    request = AuditEntry.objects.get(action="request").request
    page = text(manager_client.get(f"/approvals/{request.pk}/"))
    assert "This moves production back to an older build" in page
    assert "the same 5xx are in production" in page
