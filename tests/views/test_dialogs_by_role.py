"""An action's dialog opens only for a role that may take the action.

The rule is one function (`deployments.user_may`) asked by the dialog's GET and by the
POST's audit, so the two cannot drift: a role refused the action is refused its dialog
with a 403 and a message, before its input is parsed or Twilio is read, and without an
audit entry (opening a dialog is not an attempt).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from deployments_app import roles
from deployments_app.models import AuditEntry
from deployments_app.services import deployments

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def person(django_user_model, name: str, role: str) -> Client:
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user(name, password=f"pw-{name}-dialogs")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(django_user_model) -> Client:
    return person(django_user_model, "vic", roles.VIEWER)


@pytest.fixture
def manager(django_user_model) -> Client:
    return person(django_user_model, "rita", roles.RELEASE_MANAGER)


@pytest.fixture
def dialogs(upstream) -> dict[str, tuple[str, dict[str, str]]]:
    """Each action's dialog URL and what its button sends, on ivr-flows."""
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    earlier = next(
        d.build_sid
        for d in store.deployments(stage.sid)
        if d.build_sid and d.build_sid != stage.build_sid
    )
    upstream.requests.clear()
    return {
        "promote": (
            "/actions/promote/",
            {"service": service.sid, "source": dev.sid, "target": stage.sid},
        ),
        "redeploy": (
            "/actions/redeploy/",
            {"service": service.sid, "environment": stage.sid, "build": earlier},
        ),
        "restore": ("/actions/restore/", {"service": service.sid, "environment": stage.sid}),
        "clear": ("/actions/clear/", {"service": service.sid, "environment": stage.sid}),
    }


WHAT = {
    "promote": "promote builds",
    "redeploy": "roll back deployments",
    "restore": "restore environments",
    "clear": "clear environments",
}


@pytest.mark.parametrize("action", list(WHAT))
def test_a_viewer_opening_a_dialog_by_url_gets_a_403_page_without_its_button(
    viewer, dialogs, upstream, action
):
    url, params = dialogs[action]

    response = viewer.get(url, params)

    body = response.content.decode()
    assert response.status_code == 403
    assert "<html" in body
    assert "<title>Not allowed" in body
    assert "Not allowed for your role" in body
    assert f"Your role (Viewer) does not allow you to {WHAT[action]}." in body
    assert 'method="post" action="/actions/' not in body
    assert 'type="submit" class="btn btn--primary"' not in body
    assert 'href="/">Back to the overview</a>' in body
    assert list(upstream.requests) == [], "a refused dialog reads nothing from Twilio"
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("action", list(WHAT))
def test_over_htmx_the_refusal_fills_the_dialog_with_a_close_button(
    viewer, dialogs, upstream, action
):
    url, params = dialogs[action]

    response = viewer.get(url, params, **HTMX)

    body = response.content.decode()
    assert response.status_code == 403
    assert "<html" not in body
    assert body.lstrip().startswith('<div class="confirm" data-refused>')
    # The dialog is labelled by #dialog-title; the refusal keeps that name.
    assert 'id="dialog-title"' in body
    assert f"does not allow you to {WHAT[action]}." in body
    assert "data-close-dialog" in body
    assert "<form" not in body
    assert list(upstream.requests) == []
    assert AuditEntry.objects.count() == 0


def test_the_role_is_asked_before_the_input(viewer, manager, dialogs):
    # A viewer learns nothing from a malformed link but that the action is not theirs.
    garbage = {"service": "nope", "source": "x", "target": "y"}
    assert viewer.get("/actions/promote/", garbage).status_code == 403
    assert manager.get("/actions/promote/", garbage).status_code == 400


def test_clearing_is_its_own_permission_for_the_dialog_as_for_the_post(manager, dialogs, upstream):
    # An administrator takes clearing away from release managers; deploying stays.
    Group.objects.get(name=roles.RELEASE_MANAGER).permissions.remove(
        Permission.objects.get(codename="clear_environment")
    )
    url, params = dialogs["clear"]

    refused = manager.get(url, params)
    post = manager.post(url, params | {"confirmation": "stage"}, **HTMX)

    assert refused.status_code == 403
    assert (
        "Your role (Release manager) does not allow you to clear environments."
        in refused.content.decode()
    )
    assert post.status_code == 403
    # Deploying is untouched: those dialogs open, with their buttons.
    for action in ("promote", "redeploy", "restore"):
        url, params = dialogs[action]
        opened = manager.get(url, params)
        assert opened.status_code == 200, action
        assert f'action="/actions/{action}/"' in opened.content.decode()
    assert not [r for r in upstream.requests if r.method == "POST"]


@pytest.mark.parametrize("action", list(WHAT))
def test_the_dialog_and_the_post_ask_the_same_rule(manager, dialogs, upstream, action, monkeypatch):
    """Take the action away in user_may alone: both doors close, so they cannot drift."""
    asked = []

    def nobody_may(*, action: str, user: object) -> bool:
        asked.append(action)
        return False

    monkeypatch.setattr(deployments, "user_may", nobody_may)
    url, params = dialogs[action]

    opened = manager.get(url, params, **HTMX)
    posted = manager.post(url, params | {"confirmation": "stage"}, **HTMX)

    assert (opened.status_code, posted.status_code) == (403, 403)
    assert asked == [action, action]
    assert not [r for r in upstream.requests if r.method == "POST"]
    # Only the attempt is audited, as refused; opening the dialog left nothing.
    assert list(AuditEntry.objects.values_list("action", "outcome")) == [(action, "refused")]


def test_user_may_knows_only_the_deployment_actions(django_user_model):
    user = django_user_model.objects.create_superuser("sam", password="pw-sam-dialogs")
    assert deployments.user_may(action=AuditEntry.Action.PROMOTE, user=user)
    assert not deployments.user_may(action=AuditEntry.Action.CLEAR, user=None)
    with pytest.raises(ValueError, match="not a deployment action"):
        deployments.user_may(action=AuditEntry.Action.APPROVE, user=user)
