"""Refresh (POST /refresh/) and `manage.py reconcile`: the explicit ways to reconcile."""

from __future__ import annotations

import html
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
External = AuditEntry.Action.EXTERNAL


def environment(upstream, service_name: str, env_name: str):
    service = upstream.store.service(service_name)
    return service, upstream.store.environment_named(service.sid, env_name)


def change_outside(upstream, env) -> str:
    """Deploy an earlier build of the environment's history, as Twilio's CLI would."""
    earlier = next(
        d.build_sid
        for d in upstream.store.deployments(env.sid)
        if d.build_sid and d.build_sid != env.build_sid
    )
    upstream.store.deploy(env.sid, earlier)
    return earlier


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def viewer_client(client, django_user_model):
    user = django_user_model.objects.create_user("vic", password="pw-vic-refresh")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    client.force_login(user)
    return client


def test_refresh_records_an_outside_change_and_tells_every_widget(upstream, viewer_client):
    service, stage = environment(upstream, "ivr-flows", "stage")
    first = viewer_client.post("/refresh/", {}, **HTMX)
    assert first.status_code == 200
    assert "deployment(s) added to the dashboard's history" in text(first)
    assert EnvironmentState.objects.count() == 15  # the baseline
    assert not AuditEntry.objects.exists()
    earlier = change_outside(upstream, stage)

    response = viewer_client.post("/refresh/", {"service": service.sid}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#messages"
    assert "deploymentChanged" in json.loads(response["HX-Trigger"])
    assert "1 change(s) made outside the dashboard recorded" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.environment_sid, entry.build_sid) == (External, stage.sid, earlier)
    # Named as Twilio names the service, though no action of ours touched it before.
    assert (entry.service_name, entry.service_unique_name) == ("IVR Flows", "ivr-flows")
    # Refreshing again finds nothing new: idempotent.
    again = viewer_client.post("/refresh/", {"service": service.sid}, **HTMX)
    assert "everything was already in step" in again.content.decode()
    assert AuditEntry.objects.count() == 1
    page = viewer_client.get(f"/services/{service.sid}/environments/{stage.sid}/")
    assert "recorded in the audit" in page.content.decode()


def test_refresh_without_javascript_redirects_back_to_a_safe_path(upstream, viewer_client):
    service, stage = environment(upstream, "ivr-flows", "stage")
    back = f"/services/{service.sid}/environments/{stage.sid}/"

    response = viewer_client.post("/refresh/", {"next": back}, follow=True)

    assert response.redirect_chain == [(back, 302)]
    assert "Checked 15 environment(s) against Twilio" in response.content.decode()
    elsewhere = viewer_client.post("/refresh/", {"next": "https://evil.example/"})
    assert (elsewhere.status_code, elsewhere["Location"]) == (302, "/")


def test_refresh_is_a_post_with_csrf_and_login(upstream, django_user_model):
    anonymous = Client()
    assert anonymous.post("/refresh/").status_code == 302
    user = django_user_model.objects.create_user("vic", password="pw-vic-refresh")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/refresh/", **HTMX).status_code == 403
    assert strict.get("/refresh/").status_code == 405
    assert not EnvironmentState.objects.exists()
    assert not DeploymentRecord.objects.exists()


def test_a_malformed_service_is_answered_naming_the_field(upstream, viewer_client):
    response = viewer_client.post("/refresh/", {"service": "ZS-nope"}, **HTMX)
    assert response.status_code == 400
    assert "Service: 'ZS-nope' is not a valid service SID." in text(response)
    assert not EnvironmentState.objects.exists()


def test_an_upstream_failure_during_refresh_is_a_message_not_a_500(upstream, viewer_client):
    upstream.faults.add(Fault(method="GET", path=r"/Services$", status=503, count=None))
    response = viewer_client.post("/refresh/", {}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Could not read: services:" in body
    assert "Traceback" not in body


# --- manage.py reconcile ---------------------------------------------------------------------


def test_the_reconcile_command_is_idempotent(upstream, capsys):
    _, stage = environment(upstream, "ivr-flows", "stage")
    call_command("reconcile")
    first = capsys.readouterr().out
    assert "Checked 15 environment(s) against Twilio" in first
    recorded = DeploymentRecord.objects.count()
    assert recorded == sum(
        len(upstream.store.deployments(e.sid))
        for s in upstream.store.services()
        for e in upstream.store.environments(s.sid)
    )
    change_outside(upstream, stage)

    call_command("reconcile")
    second = capsys.readouterr().out
    call_command("reconcile")
    third = capsys.readouterr().out

    assert "1 change(s) made outside the dashboard recorded" in second
    assert AuditEntry.objects.get(action=External).service_name == "IVR Flows"
    assert "everything was already in step" in third
    assert AuditEntry.objects.filter(action=External).count() == 1


def test_the_reconcile_command_takes_services_and_fails_loudly(upstream, capsys):
    service, _ = environment(upstream, "ivr-flows", "stage")
    call_command("reconcile", service.sid)
    assert "Checked 3 environment(s)" in capsys.readouterr().out
    upstream.faults.add(Fault(method="GET", path=r"/Environments$", status=503, count=None))
    with pytest.raises(CommandError, match="Could not read"):
        call_command("reconcile", service.sid)
