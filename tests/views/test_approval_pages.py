"""The approval workflow over HTTP: the dialog, the cell, the Approvals page, a request."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import EnvironmentPolicy, FreezeWindow, PromotionRequest

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return html.unescape(response.content.decode())


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


def client_for(django_user_model, name: str, role: str) -> Client:
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user(name, email=f"{name}@example.com")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rita(django_user_model):
    return client_for(django_user_model, "rita", roles.RELEASE_MANAGER)


@pytest.fixture
def anna(django_user_model):
    return client_for(django_user_model, "anna", roles.APPROVER)


@pytest.fixture
def ivr(upstream):
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    policy = EnvironmentPolicy.objects.create(
        service_sid=service.sid, environment_name="production", promote_from="stage"
    )
    return {"service": service, "policy": policy, **envs}


def promote_url(ivr) -> str:
    s = ivr["service"].sid
    return f"/actions/promote/?service={s}&source={ivr['stage'].sid}&target={ivr['production'].sid}"


def request_promotion(rita, ivr, reason="ship REL-42"):
    data = {
        "service": ivr["service"].sid,
        "source": ivr["stage"].sid,
        "target": ivr["production"].sid,
        "reason": reason,
    }
    return rita.post("/actions/promote/", data, **HTMX)


def test_the_dialog_says_approval_is_needed_and_the_cell_awaits_it(upstream, rita, ivr):
    dialog = text(rita.get(promote_url(ivr), **HTMX))
    assert "Request approval: promote to production?" in dialog
    assert "production is protected." in dialog
    assert "only builds that ran on stage" in dialog
    assert 'name="reason"' in dialog
    assert "required" in dialog

    response = request_promotion(rita, ivr)

    assert response.status_code == 200
    request = PromotionRequest.objects.get()
    assert f"request #{request.pk} is awaiting approval (0 of 1)" in text(response)
    assert posts(upstream) == []
    overview = text(rita.get("/"))
    assert "awaiting approval (0 of 1)" in overview
    assert f'href="/approvals/{request.pk}/"' in overview


def test_without_a_reason_the_dialog_answers_in_place(upstream, rita, ivr):
    response = request_promotion(rita, ivr, reason="")
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#dialog-error"
    assert "production is protected: give a reason" in text(response)
    assert not PromotionRequest.objects.exists()


def test_an_approver_sees_the_count_opens_the_request_and_approves(upstream, rita, anna, ivr):
    request_promotion(rita, ivr)
    request = PromotionRequest.objects.get()
    assert 'data-approvals-waiting="1"' in text(anna.get("/approvals/count/"))
    assert "data-approvals-waiting" not in text(rita.get("/approvals/count/"))
    listing = text(anna.get("/approvals/"))
    assert f"#{request.pk} promote" in listing
    assert "Waiting (1)" in listing

    page = text(anna.get(f"/approvals/{request.pk}/"))
    assert "production runs now" in page
    assert "ship REL-42" in page
    assert 'data-decide="approve"' in page
    assert 'data-decide="reject"' in page
    assert 'data-decide="approve"' not in text(rita.get(f"/approvals/{request.pk}/"))
    assert 'data-decide="withdraw"' in text(rita.get(f"/approvals/{request.pk}/"))

    response = anna.post(f"/approvals/{request.pk}/approve/", {"comment": "ok"}, **HTMX)

    assert response.status_code == 200
    assert "Approved and deployed" in text(response)
    assert "deploymentChanged" in response["HX-Trigger"]
    assert len(posts(upstream)) == 1
    assert upstream.store.environment(ivr["production"].sid).build_sid == ivr["stage"].build_sid
    assert "Deployed" in text(anna.get(f"/approvals/{request.pk}/"))
    assert "data-approvals-waiting" not in text(anna.get("/approvals/count/"))


def test_a_changed_target_is_warned_and_the_approval_voided(upstream, rita, anna, ivr):
    request_promotion(rita, ivr)
    request = PromotionRequest.objects.get()
    production = ivr["production"]
    other = next(
        d.build_sid
        for d in upstream.store.deployments(production.sid)
        if d.build_sid not in (production.build_sid, ivr["stage"].build_sid)
    )
    upstream.store.deploy(production.sid, other)

    page = text(anna.get(f"/approvals/{request.pk}/"))
    assert "production changed since this was requested" in page
    response = anna.post(f"/approvals/{request.pk}/approve/", **HTMX)

    assert "The approvals were voided" in text(response)
    assert posts(upstream) == []
    page = text(anna.get(f"/approvals/{request.pk}/"))
    assert "data-voided" in page
    assert "voided" in page


def test_a_refused_decision_is_a_message_without_javascript_too(upstream, rita, anna, ivr):
    request_promotion(rita, ivr)
    request = PromotionRequest.objects.get()
    response = anna.post(f"/approvals/{request.pk}/reject/", {"comment": ""}, follow=True)
    assert response.redirect_chain == [(f"/approvals/{request.pk}/", 302)]
    assert "Say why you reject it" in text(response)
    long = anna.post(f"/approvals/{request.pk}/reject/", {"comment": "x" * 5000}, **HTMX)
    assert long.status_code == 400
    assert "Comment: Ensure this value has at most 1000 characters" in text(long)


def test_a_freeze_is_named_in_the_dialog_and_refuses_the_approved_request(
    upstream, rita, anna, ivr
):
    request_promotion(rita, ivr)
    request = PromotionRequest.objects.get()
    now = timezone.now()
    FreezeWindow.objects.create(
        policy=ivr["policy"],
        reason="Quarter close",
        kind=FreezeWindow.Kind.ONCE,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    assert "production is frozen: Quarter close" in text(rita.get(promote_url(ivr), **HTMX))
    assert "frozen: Quarter close, until" in text(rita.get("/"))

    response = anna.post(f"/approvals/{request.pk}/approve/", **HTMX)

    assert "did not deploy: production is frozen: Quarter close" in text(response)
    assert posts(upstream) == []
    page = text(anna.get(f"/approvals/{request.pk}/"))
    assert "Quarter close" in page
    # Retry is offered once the freeze is over, not while it can only be refused again.
    assert 'data-decide="retry"' not in page
    FreezeWindow.objects.all().delete()
    assert 'data-decide="retry"' in text(anna.get(f"/approvals/{request.pk}/"))


def test_break_glass_is_offered_only_with_its_permission_and_shows_on_the_cell(
    upstream, rita, anna, ivr, django_user_model
):
    assert "Break glass" not in text(rita.get(promote_url(ivr), **HTMX))
    from django.contrib.auth.models import Permission

    oncall = django_user_model.objects.create_user("olga")
    oncall.groups.add(Group.objects.get(name=roles.RELEASE_MANAGER))
    oncall.user_permissions.add(Permission.objects.get(codename="break_glass"))
    olga = Client()
    olga.force_login(oncall)
    assert "Break glass: deploy now" in text(olga.get(promote_url(ivr), **HTMX))

    data = {
        "service": ivr["service"].sid,
        "source": ivr["stage"].sid,
        "target": ivr["production"].sid,
        "reason": "SMS outage, hotfix",
        "break_glass": "on",
    }
    response = olga.post("/actions/promote/", data, **HTMX)

    assert response.status_code == 200
    assert len(posts(upstream)) == 1
    request = PromotionRequest.objects.get()
    assert request.break_glass
    assert "data-break-glass" in text(olga.get("/"))
    listing = text(anna.get("/approvals/"))
    assert "Break-glass deployments to review (1)" in listing
    anna.post(f"/approvals/{request.pk}/ratify/", {"comment": "fine"}, **HTMX)
    assert "data-break-glass" not in text(anna.get("/"))
