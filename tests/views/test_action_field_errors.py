"""A deployment action's bad field is named, over HTTP with CSRF, and the good ones are kept."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from deployments_app.models import AuditEntry

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def manager(upstream, django_user_model) -> Client:
    """A release manager's browser: CSRF enforced, the token taken from a real dialog."""
    user = django_user_model.objects.create_user("rita", password="pw-rita-fields")
    user.groups.add(Group.objects.get(name="Release manager"))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def ivr(upstream, name: str):
    service = upstream.store.service("ivr-flows")
    return service, upstream.store.environment_named(service.sid, name)


def csrf_token(browser: Client, url: str, params: dict[str, str]) -> str:
    dialog = browser.get(url, params, **HTMX)
    assert dialog.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', dialog.content.decode())
    assert match, "the dialog carries a CSRF token"
    return match.group(1)


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


def test_a_rollback_reason_of_5000_characters_is_named_and_the_sids_are_kept(upstream, manager):
    service, stage = ivr(upstream, "stage")
    build = upstream.store.deployments(stage.sid)[1].build_sid
    where = {"service": service.sid, "environment": stage.sid, "build": build}
    token = csrf_token(manager, "/actions/redeploy/", where)

    response = manager.post(
        "/actions/redeploy/", {**where, "reason": "x" * 5000, "csrfmiddlewaretoken": token}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#dialog-error"
    assert "Reason: Ensure this value has at most 1000 characters (it has 5000)." in body
    assert "not a valid service SID" not in body
    assert posts(upstream) == []
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == ("redeploy", "refused")
    assert (entry.service_sid, entry.environment_sid, entry.build_sid) == (
        service.sid,
        stage.sid,
        build,
    )
    assert entry.reason == "x" * 1000  # kept, cut to the column's size
    assert entry.error_message.startswith("Reason: ")


def test_a_clear_confirmation_of_500_characters_is_named(upstream, manager):
    service, stage = ivr(upstream, "stage")
    where = {"service": service.sid, "environment": stage.sid}
    token = csrf_token(manager, "/actions/clear/", where)

    response = manager.post(
        "/actions/clear/",
        {**where, "confirmation": "y" * 500, "csrfmiddlewaretoken": token},
        **HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Confirmation: Ensure this value has at most 200 characters (it has 500)." in body
    assert "not a valid" not in body
    assert upstream.store.environment(stage.sid).build_sid == stage.build_sid
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.environment_sid) == ("clear", "refused", stage.sid)


def test_each_bad_field_is_named_once_and_the_good_ones_are_not(upstream, manager):
    service, stage = ivr(upstream, "stage")
    build = upstream.store.deployments(stage.sid)[1].build_sid
    where = {"service": service.sid, "environment": stage.sid, "build": build}
    token = csrf_token(manager, "/actions/redeploy/", where)

    response = manager.post(
        "/actions/redeploy/",
        {**where, "build": "ZBnot-a-build", "reason": "r" * 1001, "csrfmiddlewaretoken": token},
        **HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert body.count("Reason: ") == 1
    assert "Build: &#x27;ZBnot-a-build&#x27; is not a valid build SID." in body
    assert "Service:" not in body
    assert "Environment:" not in body
    assert posts(upstream) == []


def test_without_javascript_the_error_lands_back_on_the_environment_page(upstream, manager):
    service, stage = ivr(upstream, "stage")
    build = upstream.store.deployments(stage.sid)[1].build_sid
    where = {"service": service.sid, "environment": stage.sid, "build": build}
    token = csrf_token(manager, "/actions/redeploy/", where)

    response = manager.post(
        "/actions/redeploy/", {**where, "reason": "x" * 5000, "csrfmiddlewaretoken": token}
    )

    # The fields that parsed still say where the user came from: not the overview.
    assert response.status_code == 302
    assert response["Location"] == f"/services/{service.sid}/environments/{stage.sid}/"
    page = manager.get(response["Location"]).content.decode()
    assert "Reason: Ensure this value has at most 1000 characters (it has 5000)." in page
    assert posts(upstream) == []


def test_the_same_post_without_its_csrf_token_is_forbidden_and_not_audited(upstream, manager):
    service, stage = ivr(upstream, "stage")
    response = manager.post(
        "/actions/clear/",
        {"service": service.sid, "environment": stage.sid, "confirmation": "y" * 500},
        **HTMX,
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()
