"""Every view and action, for every role: allowed, or refused (403) with nothing changed.

Viewer reads everything; Release manager deploys where no approval is needed and
requests where it is; Approver approves and rejects; the superuser may do all of it.
A refusal never reaches Twilio with a write. An action's dialog is opened only by those
who may take the action: the others get the same 403 on its GET as on its POST.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from deployments_app import roles
from deployments_app.models import AuditEntry, EnvironmentPolicy, PromotionRequest
from deployments_app.services import deployments

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROLES = ["viewer", "release", "approver", "admin"]


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


@pytest.fixture
def people(django_user_model):
    roles.ensure_role_groups()
    made = {}
    for name, group in [
        ("viewer", roles.VIEWER),
        ("release", roles.RELEASE_MANAGER),
        ("approver", roles.APPROVER),
    ]:
        made[name] = django_user_model.objects.create_user(name, password=f"pw-{name}-matrix")
        made[name].groups.add(Group.objects.get(name=group))
    made["admin"] = django_user_model.objects.create_superuser("admin", password="pw-admin-m")
    # No role grants deploying without clearing, but the permissions are two: one who has
    # only the first shows that clear's dialog asks for its own.
    made["deployer"] = django_user_model.objects.create_user("deployer", password="pw-dep-m")
    made["deployer"].user_permissions.add(
        Permission.objects.get(content_type__app_label="deployments_app", codename="deploy_build")
    )
    return made


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(upstream, people):
    """ivr-flows with production protected and one request waiting on it."""
    store = upstream.store
    ivr = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(ivr.sid)}
    EnvironmentPolicy.objects.create(service_sid=ivr.sid, environment_name="production")
    request = deployments.deployment_promote(
        actor=people["release"],
        service_sid=ivr.sid,
        source_environment_sid=envs["stage"].sid,
        target_environment_sid=envs["production"].sid,
        reason="matrix",
    ).request
    upstream.requests.clear()
    earlier = next(
        d.build_sid
        for d in store.deployments(envs["stage"].sid)
        if d.build_sid and d.build_sid != envs["stage"].build_sid
    )
    return {"service": ivr, **envs, "request": request, "earlier": earlier}


def read_urls(w) -> list[str]:
    sid = w["service"].sid
    return [
        "/",
        f"/services/{sid}/environments/{w['stage'].sid}/",
        f"/services/{sid}/builds/{w['stage'].build_sid}/",
        "/audit/",
        "/audit/export.csv",
        "/approvals/",
        "/approvals/count/",
        f"/approvals/{w['request'].pk}/",
    ]


def dialog_urls(w) -> dict[str, str]:
    """Each action's confirmation dialog, as its button opens it."""
    sid = w["service"].sid
    return {
        "promote": f"/actions/promote/?service={sid}&source={w['dev'].sid}&target={w['stage'].sid}",
        "redeploy": (
            f"/actions/redeploy/?service={sid}&environment={w['stage'].sid}&build={w['earlier']}"
        ),
        "restore": f"/actions/restore/?service={sid}&environment={w['stage'].sid}",
        "clear": f"/actions/clear/?service={sid}&environment={w['stage'].sid}",
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_every_page_and_reading_writes_nothing_upstream(
    world, people, upstream, role
):
    client = signed_in(people[role])
    for url in read_urls(world):
        assert client.get(url).status_code == 200, url
    assert upstream.requests, "the pages read Twilio"
    assert posts(upstream) == []


ALLOWED_TO_DEPLOY = {
    "viewer": False,
    "release": True,
    "approver": False,
    "admin": True,
    "deployer": True,
}
ALLOWED_TO_CLEAR = ALLOWED_TO_DEPLOY | {"deployer": False}
ALLOWED_TO_OPEN = {
    "promote": ALLOWED_TO_DEPLOY,
    "redeploy": ALLOWED_TO_DEPLOY,
    "restore": ALLOWED_TO_DEPLOY,
    "clear": ALLOWED_TO_CLEAR,
}


@pytest.mark.parametrize("role", [*ROLES, "deployer"])
@pytest.mark.parametrize("action", ["promote", "redeploy", "restore", "clear"])
def test_each_dialog_opens_only_for_a_role_that_may_act(world, people, upstream, role, action):
    client = signed_in(people[role])
    entries = AuditEntry.objects.count()
    for headers in ({}, HTMX):
        response = client.get(dialog_urls(world)[action], **headers)
        body = response.content.decode()
        if ALLOWED_TO_OPEN[action][role]:
            assert response.status_code == 200, (headers, body)
            assert f'action="/actions/{action}/"' in body
        else:
            assert response.status_code == 403, (headers, body)
            assert "does not allow you to" in body
            assert 'method="post" action="/actions/' not in body
    if not ALLOWED_TO_OPEN[action][role]:
        assert list(upstream.requests) == [], "a refused dialog reads nothing from Twilio"
    assert posts(upstream) == []
    assert AuditEntry.objects.count() == entries


def test_anonymous_users_are_sent_to_sign_in_everywhere(world):
    anonymous = Client()
    for url in read_urls(world) + list(dialog_urls(world).values()):
        response = anonymous.get(url)
        assert (response.status_code, response["Location"].split("?")[0]) == (
            302,
            "/accounts/login/",
        ), url


def deploy_posts(w) -> dict[str, tuple[str, dict]]:
    sid = w["service"].sid
    return {
        "promote": (
            "/actions/promote/",
            {"service": sid, "source": w["dev"].sid, "target": w["stage"].sid},
        ),
        "redeploy": (
            "/actions/redeploy/",
            {"service": sid, "environment": w["stage"].sid, "build": w["earlier"]},
        ),
        "clear": (
            "/actions/clear/",
            {"service": sid, "environment": w["dev"].sid, "confirmation": "dev"},
        ),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["promote", "redeploy", "clear"])
def test_deploying_where_no_approval_is_needed(world, people, upstream, role, action):
    url, data = deploy_posts(world)[action]
    response = signed_in(people[role]).post(url, data, **HTMX)
    if ALLOWED_TO_DEPLOY[role]:
        assert response.status_code == 200, response.content
        assert len(posts(upstream)) == 1
    else:
        assert response.status_code == 403
        assert posts(upstream) == []
        assert AuditEntry.objects.filter(outcome="refused", actor=role).count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_requesting_a_protected_change(world, people, upstream, role):
    sid = world["service"].sid
    data = {
        "service": sid,
        "environment": world["production"].sid,
        "build": next(
            d.build_sid
            for d in upstream.store.deployments(world["production"].sid)
            if d.build_sid and d.build_sid != world["production"].build_sid
        ),
        "reason": "roll back",
    }
    response = signed_in(people[role]).post("/actions/redeploy/", data, **HTMX)
    assert posts(upstream) == []
    if ALLOWED_TO_DEPLOY[role]:
        assert response.status_code == 200
        assert PromotionRequest.objects.filter(action="redeploy").count() == 1
    else:
        assert response.status_code == 403
        assert not PromotionRequest.objects.filter(action="redeploy").exists()


ALLOWED_TO_DECIDE = {"viewer": False, "release": False, "approver": True, "admin": True}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_deciding_a_request(world, people, upstream, role, decision):
    request = world["request"]
    response = signed_in(people[role]).post(
        f"/approvals/{request.pk}/{decision}/", {"comment": "seen"}, **HTMX
    )
    request.refresh_from_db()
    if ALLOWED_TO_DECIDE[role]:
        assert response.status_code == 200, response.content
        expected = "executed" if decision == "approve" else "rejected"
        assert request.status == expected
        assert len(posts(upstream)) == (1 if decision == "approve" else 0)
    else:
        assert response.status_code == 403
        assert request.status == "open"
        assert posts(upstream) == []


@pytest.mark.parametrize("role", ROLES)
def test_only_the_requester_withdraws(world, people, upstream, role):
    request = world["request"]
    response = signed_in(people[role]).post(f"/approvals/{request.pk}/withdraw/", **HTMX)
    request.refresh_from_db()
    if role == "release":
        assert (response.status_code, request.status) == (200, "withdrawn")
    else:
        assert (response.status_code, request.status) == (403, "open")
    assert posts(upstream) == []


@pytest.mark.parametrize("role", ROLES)
def test_decisions_need_csrf(world, people, upstream, role):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people[role])
    response = strict.post(f"/approvals/{world['request'].pk}/approve/", **HTMX)
    assert response.status_code == 403
    world["request"].refresh_from_db()
    assert world["request"].status == "open"
    assert posts(upstream) == []


def test_an_unknown_decision_or_request_is_a_404(world, people):
    client = signed_in(people["approver"])
    assert client.post(f"/approvals/{world['request'].pk}/delete/").status_code == 404
    assert client.post("/approvals/999999/approve/", **HTMX).status_code == 404
    assert client.get("/approvals/999999/").status_code == 404
