"""Deployment actions over HTTP: refusals, CSRF, GET safety, and the audit they leave."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from deployments_app.models import AuditEntry
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def env(upstream, service_name: str, env_name: str):
    service = upstream.store.service(service_name)
    return service, upstream.store.environment_named(service.sid, env_name)


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


def test_get_on_an_action_url_shows_a_confirmation_and_changes_nothing(upstream, manager_client):
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    for url, params in [
        ("/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}),
        ("/actions/clear/", {"service": service.sid, "environment": stage.sid}),
        (
            "/actions/redeploy/",
            {"service": service.sid, "environment": dev.sid, "build": stage.build_sid},
        ),
        ("/actions/restore/", {"service": service.sid, "environment": dev.sid}),
    ]:
        response = manager_client.get(url, params)
        assert response.status_code == 200, url
        assert b'<form method="post"' in response.content
    assert posts(upstream) == []
    assert AuditEntry.objects.count() == 0
    assert upstream.store.environment(stage.sid).build_sid == stage.build_sid


def test_promote_over_htmx_answers_a_message_and_an_event(upstream, manager_client):
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#messages"
    assert "deploymentChanged" in response["HX-Trigger"]
    new = upstream.store.deployments(stage.sid)[0]
    assert new.sid in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.actor) == ("promote", "succeeded", "rita")
    assert entry.client_ip == "127.0.0.1"


def test_promote_without_javascript_redirects_with_a_message(upstream, manager_client):
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    response = manager_client.post("/actions/promote/", data, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Promoted" in response.content.decode()


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("malformed", 400, "is not a valid"),
        ("unknown", 404, "No such service or environment"),
        ("same", 400, "target environment is the source"),
        ("empty source", 400, "Nothing is live"),
        ("building", 400, "not completed"),
    ],
)
def test_bad_promotions_are_refused_in_the_page_without_an_api_write(
    upstream, manager_client, case, status, message
):
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    if case == "malformed":
        data["target"] = "ZEnot-a-sid"
    elif case == "unknown":
        data["target"] = "ZE" + "0" * 32
    elif case == "same":
        data["target"] = dev.sid
    elif case == "empty source":
        billing, empty = env(upstream, "billing-webhooks", "production")
        _, billing_dev = env(upstream, "billing-webhooks", "dev")
        data = {"service": billing.sid, "source": empty.sid, "target": billing_dev.sid}
    elif case == "building":
        building = next(b for b in upstream.store.builds(service.sid) if b.status == "building")
        upstream.store.deploy(dev.sid, None)
        upstream.store.set_build_status(building.sid, "completed")
        upstream.store.deploy(dev.sid, building.sid)
        upstream.store.set_build_status(building.sid, "building")
        upstream.requests.clear()
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == status
    assert response["HX-Retarget"] == "#dialog-error"
    assert message in response.content.decode()
    assert posts(upstream) == []
    assert AuditEntry.objects.get().outcome == "refused"


def test_clear_with_the_wrong_name_is_refused(upstream, manager_client):
    service, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "environment": stage.sid, "confirmation": "production"}
    response = manager_client.post("/actions/clear/", data, **HTMX)
    assert response.status_code == 400
    assert "to confirm the clear" in response.content.decode()
    assert posts(upstream) == []


def test_a_viewer_gets_no_buttons_and_a_403(upstream, client, django_user_model):
    user = django_user_model.objects.create_user("vic", password="pw-vic-1")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    client.force_login(user)
    assert "Promote to" not in client.get("/").content.decode()
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    response = client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 403
    assert posts(upstream) == []
    assert AuditEntry.objects.get().outcome == "refused"


def test_a_post_without_csrf_token_is_forbidden(upstream, django_user_model):
    user = django_user_model.objects.create_user("rita", password="pw-rita-1")
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    assert strict.post("/actions/promote/", data, **HTMX).status_code == 403
    assert posts(upstream) == []


def test_an_upstream_timeout_during_the_post_is_reconciled_not_repeated(
    upstream, manager_client, settings
):
    settings.TWILIO_READ_TIMEOUT = 0.5
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    upstream.faults.add(
        Fault(
            method="POST",
            path=r"/Deployments$",
            status=None,
            delay_ms=1500,
            after_effect=True,
            count=1,
        )
    )
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    before = len(upstream.store.deployments(stage.sid))
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 200
    assert len(upstream.store.deployments(stage.sid)) == before + 1
    time.sleep(1.2)  # the emulator logs the slow POST once its delayed answer is sent
    assert len([r for r in posts(upstream) if r.path.endswith("/Deployments")]) == 1
    assert upstream.store.environment(stage.sid).build_sid == dev.build_sid
    assert AuditEntry.objects.get().outcome == "succeeded"


def test_an_upstream_failure_is_a_message_with_its_true_outcome(upstream, manager_client):
    service, dev = env(upstream, "ivr-flows", "dev")
    _, stage = env(upstream, "ivr-flows", "stage")
    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=503, count=None))
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 502
    assert "Nothing changed" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert entry.outcome == "failed"
    assert upstream.store.environment(stage.sid).build_sid == stage.build_sid


def test_deploying_the_live_build_is_a_plain_no_op(upstream, manager_client):
    service, stage = env(upstream, "sms-notifications", "stage")
    _, dev = env(upstream, "sms-notifications", "dev")
    assert dev.build_sid == stage.build_sid
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    response = manager_client.post("/actions/promote/", data, **HTMX)
    assert response.status_code == 200
    assert "already live" in response.content.decode()
    assert AuditEntry.objects.get().outcome == "noop"


@pytest.mark.parametrize(
    ("url", "field", "value", "named"),
    [
        ("/actions/redeploy/", "reason", "x" * 5000, "Reason: Ensure this value has at most 1000"),
        ("/actions/clear/", "confirmation", "y" * 500, "Confirmation: Ensure this value has at"),
        ("/actions/promote/", "reason", "z" * 5000, "Reason: Ensure this value has at most 1000"),
    ],
)
def test_an_invalid_field_is_named_and_the_attempt_audited_as_it_came(
    upstream, manager_client, url, field, value, named
):
    service, stage = env(upstream, "ivr-flows", "stage")
    _, dev = env(upstream, "ivr-flows", "dev")
    data = {"service": service.sid, "environment": stage.sid, field: value}
    if url == "/actions/redeploy/":
        data["build"] = upstream.store.deployments(stage.sid)[1].build_sid
    if url == "/actions/promote/":
        data |= {"source": dev.sid, "target": stage.sid}

    response = manager_client.post(url, data, **HTMX)

    body = response.content.decode()
    assert response.status_code == 400
    assert named in body
    assert "is not a valid service SID" not in body
    assert posts(upstream) == []
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.service_sid, entry.environment_sid) == (
        "refused",
        service.sid,
        stage.sid,
    )
    assert named in entry.error_message
