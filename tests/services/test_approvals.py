"""Protected environments through services/deployments.py and services/approvals.py.

A change to a protected environment becomes a request; approvers decide; the last
approval executes it through the action path, bound to the plan that was approved.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import (
    Approval,
    AuditEntry,
    EnvironmentPolicy,
    FreezeWindow,
    PromotionRequest,
)
from deployments_app.services import approvals
from deployments_app.services.approvals import DecisionRefused
from deployments_app.services.deployments import (
    ActionRefused,
    Grant,
    deployment_promote,
    deployment_redeploy,
    environment_clear,
)

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
Status = PromotionRequest.Status


def user(django_user_model, name: str, role: str, email: str = ""):
    roles.ensure_role_groups()
    made = django_user_model.objects.create_user(name, email=email or f"{name}@example.com")
    made.groups.add(Group.objects.get(name=role))
    return made


@pytest.fixture
def rita(django_user_model):
    return user(django_user_model, "rita", roles.RELEASE_MANAGER)


@pytest.fixture
def anna(django_user_model):
    return user(django_user_model, "anna", roles.APPROVER)


@pytest.fixture
def bob(django_user_model):
    return user(django_user_model, "bob", roles.APPROVER)


def env(upstream, service: str, name: str):
    return upstream.store.environment_named(service, name)


def posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST"]


@pytest.fixture
def protected(upstream):
    """ivr-flows production: one approval, promotion from stage."""
    production = env(upstream, "ivr-flows", "production")
    return EnvironmentPolicy.objects.create(
        service_sid=production.service_sid,
        environment_name="production",
        required_approvals=1,
        promote_from="stage",
    )


def promote_stage_to_production(upstream, actor, reason="ship the retry fix", **kwargs):
    stage, production = (
        env(upstream, "ivr-flows", "stage"),
        env(upstream, "ivr-flows", "production"),
    )
    return deployment_promote(
        actor=actor,
        service_sid=stage.service_sid,
        source_environment_sid=stage.sid,
        target_environment_sid=production.sid,
        reason=reason,
        **kwargs,
    )


def test_a_protected_promotion_becomes_a_request_and_the_approval_deploys_it(
    upstream, protected, rita, anna
):
    stage, production = (
        env(upstream, "ivr-flows", "stage"),
        env(upstream, "ivr-flows", "production"),
    )

    outcome = promote_stage_to_production(upstream, rita)

    request = outcome.request
    assert request is not None
    assert posts(upstream) == []
    assert env(upstream, "ivr-flows", "production").build_sid == production.build_sid
    assert (request.status, request.action, request.requester) == (Status.OPEN, "promote", rita)
    assert (request.build_sid, request.live_build_sid) == (stage.build_sid, production.build_sid)
    assert len(request.variables_fingerprint) == 64
    expected = f"production is protected: request #{request.pk} is awaiting approval (0 of 1)."
    assert outcome.message == expected
    assert outcome.entry.action == Action.REQUEST
    assert outcome.entry.request == request
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    assert f"/approvals/{request.pk}/" in mail.outbox[0].body

    decided = approvals.request_approve(request_id=request.pk, actor=anna, comment="looks good")

    assert decided.request.status == Status.EXECUTED
    assert env(upstream, "ivr-flows", "production").build_sid == stage.build_sid
    assert len(posts(upstream)) == 1
    deployed = decided.entry
    assert (deployed.action, deployed.outcome, deployed.actor, deployed.via) == (
        Action.PROMOTE,
        Outcome.SUCCEEDED,
        "rita",
        "approval",
    )
    assert deployed.request == request
    assert decided.request.deployment_sid == deployed.deployment_sid
    steps = list(request.audit_entries.order_by("id").values_list("action", flat=True))
    assert steps == [Action.REQUEST, Action.APPROVE, Action.PROMOTE]
    assert mail.outbox[-1].to == ["rita@example.com"]


def test_the_requester_cannot_approve_and_a_second_approval_does_not_count_twice(
    upstream, protected, rita, anna, bob, django_user_model
):
    protected.required_approvals = 2
    protected.save()
    request = promote_stage_to_production(upstream, rita).request
    # A release manager who is also an approver asks; they may not approve their own.
    rita.groups.add(Group.objects.get(name=roles.APPROVER))
    rita = type(rita).objects.get(pk=rita.pk)  # forget the permission cache

    with pytest.raises(DecisionRefused, match="your own request"):
        approvals.request_approve(request_id=request.pk, actor=rita)
    first = approvals.request_approve(request_id=request.pk, actor=anna)
    with pytest.raises(DecisionRefused, match="already approved"):
        approvals.request_approve(request_id=request.pk, actor=anna)

    assert first.message == "Approved: 1 of 2 approvals."
    assert posts(upstream) == []
    final = approvals.request_approve(request_id=request.pk, actor=bob)
    assert final.request.status == Status.EXECUTED
    assert len(posts(upstream)) == 1
    refused = AuditEntry.objects.filter(action=Action.APPROVE, outcome=Outcome.REFUSED)
    assert refused.count() == 2


def test_a_viewer_or_release_manager_cannot_approve(upstream, protected, rita, django_user_model):
    request = promote_stage_to_production(upstream, rita).request
    viewer = user(django_user_model, "vera", roles.VIEWER)
    other = user(django_user_model, "ron", roles.RELEASE_MANAGER)
    for who in (viewer, other):
        with pytest.raises(DecisionRefused) as caught:
            approvals.request_approve(request_id=request.pk, actor=who)
        assert caught.value.status == 403
    assert posts(upstream) == []
    assert Approval.objects.count() == 0


def test_the_policys_approver_group_decides_who_approves(upstream, protected, rita, anna, bob):
    leads = Group.objects.create(name="Production leads")
    leads.permissions.add(Permission.objects.get(codename="approve_request"))
    bob.groups.add(leads)
    protected.approver_group = leads
    protected.save()
    request = promote_stage_to_production(upstream, rita).request
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]

    with pytest.raises(DecisionRefused):
        approvals.request_approve(request_id=request.pk, actor=anna)
    assert approvals.request_approve(request_id=request.pk, actor=bob).request.status == (
        Status.EXECUTED
    )


def test_a_reason_is_required_and_one_request_per_change(upstream, protected, rita):
    with pytest.raises(ActionRefused, match="give a reason"):
        promote_stage_to_production(upstream, rita, reason="  ")
    first = promote_stage_to_production(upstream, rita).request
    with pytest.raises(ActionRefused, match=f"Request #{first.pk} for this change"):
        promote_stage_to_production(upstream, rita)
    assert PromotionRequest.objects.count() == 1


def test_one_rejection_ends_the_request(upstream, protected, rita, anna, bob):
    request = promote_stage_to_production(upstream, rita).request
    with pytest.raises(DecisionRefused, match="comment is required"):
        approvals.request_reject(request_id=request.pk, actor=anna, comment="")
    approvals.request_reject(request_id=request.pk, actor=anna, comment="wait for QA")
    with pytest.raises(DecisionRefused, match="takes no more decisions"):
        approvals.request_approve(request_id=request.pk, actor=bob)
    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert posts(upstream) == []


def test_the_requester_can_withdraw_and_nobody_else_can(upstream, protected, rita, anna):
    request = promote_stage_to_production(upstream, rita).request
    with pytest.raises(DecisionRefused, match="Only the requester"):
        approvals.request_withdraw(request_id=request.pk, actor=anna)
    approvals.request_withdraw(request_id=request.pk, actor=rita)
    with pytest.raises(DecisionRefused, match="withdrawn; it takes no more"):
        approvals.request_approve(request_id=request.pk, actor=anna)
    assert posts(upstream) == []


def test_an_expired_request_cannot_be_approved(upstream, protected, rita, anna):
    request = promote_stage_to_production(upstream, rita).request
    PromotionRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(DecisionRefused, match="expired"):
        approvals.request_approve(request_id=request.pk, actor=anna)
    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    assert AuditEntry.objects.filter(action=Action.EXPIRE).count() == 1
    assert posts(upstream) == []


def test_an_outside_deployment_voids_the_approval_and_it_needs_approving_again(
    upstream, protected, rita, anna, bob
):
    stage, production = (
        env(upstream, "ivr-flows", "stage"),
        env(upstream, "ivr-flows", "production"),
    )
    request = promote_stage_to_production(upstream, rita).request
    other = next(
        d.build_sid
        for d in upstream.store.deployments(production.sid)
        if d.build_sid not in (production.build_sid, stage.build_sid)
    )
    upstream.store.deploy(production.sid, other)  # e.g. the Twilio CLI

    voided = approvals.request_approve(request_id=request.pk, actor=anna)

    assert "The approved plan changed" in voided.message
    assert f"production runs {other} now" in voided.message
    assert voided.request.status == Status.OPEN
    assert voided.request.live_build_sid == other
    assert posts(upstream) == []
    assert env(upstream, "ivr-flows", "production").build_sid == other
    assert Approval.objects.get().voided_at is not None
    assert AuditEntry.objects.filter(action=Action.VOID).count() == 1
    # The same approver may approve the new plan; now it deploys.
    again = approvals.request_approve(request_id=request.pk, actor=anna)
    assert again.request.status == Status.EXECUTED
    assert env(upstream, "ivr-flows", "production").build_sid == stage.build_sid


def test_a_variables_change_voids_the_approval(upstream, protected, rita, anna):
    production = env(upstream, "ivr-flows", "production")
    request = promote_stage_to_production(upstream, rita).request
    upstream.store.create_variable(production.sid, key="SMS_RETRY", value="3")

    voided = approvals.request_approve(request_id=request.pk, actor=anna)

    assert "environment variables changed" in voided.message
    assert "SMS_RETRY" not in voided.message
    assert "3" not in voided.request.voided_reason.split()
    assert posts(upstream) == []


def freeze_now(policy, reason="Black Friday") -> FreezeWindow:
    now = timezone.now()
    return FreezeWindow.objects.create(
        policy=policy,
        reason=reason,
        kind=FreezeWindow.Kind.ONCE,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
    )


def test_a_freeze_refuses_even_an_approved_request_which_can_be_retried_after(
    upstream, protected, rita, anna
):
    request = promote_stage_to_production(upstream, rita).request
    window = freeze_now(protected)

    decided = approvals.request_approve(request_id=request.pk, actor=anna)

    assert decided.request.status == Status.FAILED
    assert "production is frozen: Black Friday. Deployments resume" in decided.message
    assert posts(upstream) == []
    window.delete()
    retried = approvals.request_retry(request_id=request.pk, actor=anna)
    assert retried.request.status == Status.EXECUTED
    assert len(posts(upstream)) == 1


def test_a_freeze_applies_to_unprotected_environments_too(upstream, rita):
    stage = env(upstream, "ivr-flows", "stage")
    policy = EnvironmentPolicy.objects.create(
        service_sid=stage.service_sid, environment_name="stage", protected=False
    )
    freeze_now(policy, "Release train")
    with pytest.raises(ActionRefused, match="stage is frozen: Release train") as caught:
        deployment_promote(
            actor=rita,
            service_sid=stage.service_sid,
            source_environment_sid=env(upstream, "ivr-flows", "dev").sid,
            target_environment_sid=stage.sid,
        )
    assert caught.value.status == 409
    assert posts(upstream) == []


def test_a_weekly_window_is_in_the_policys_time_zone(upstream):
    policy = EnvironmentPolicy.objects.create(
        service_sid="ZS" + "1" * 32, environment_name="production", time_zone="Europe/Berlin"
    )
    FreezeWindow.objects.create(
        policy=policy,
        reason="No Friday deploys",
        start_weekday=FreezeWindow.Weekday.FRIDAY,
        start_time=time(15, 0),
        end_weekday=FreezeWindow.Weekday.MONDAY,
        end_time=time(8, 0),
    )
    from zoneinfo import ZoneInfo

    from deployments_app.services.policies import active_freeze

    berlin = ZoneInfo("Europe/Berlin")
    friday = datetime(2026, 12, 4, 15, 30, tzinfo=berlin)
    freeze = active_freeze(policy, friday)
    assert freeze is not None
    assert freeze.until == datetime(2026, 12, 7, 8, 0, tzinfo=berlin)
    assert "resume Mon 2026-12-07 08:00 Europe/Berlin (07:00 UTC)" in freeze.message("production")
    assert active_freeze(policy, datetime(2026, 12, 4, 14, 59, tzinfo=berlin)) is None
    assert active_freeze(policy, datetime(2026, 12, 6, 23, 0, tzinfo=berlin)) is not None
    assert active_freeze(policy, datetime(2026, 12, 7, 8, 0, tzinfo=berlin)) is None


def test_promotion_order_only_takes_builds_that_ran_on_stage(upstream, protected, rita):
    dev, production = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "production")
    stage_history = {
        d.build_sid for d in upstream.store.deployments(env(upstream, "ivr-flows", "stage").sid)
    }
    assert dev.build_sid not in stage_history
    with pytest.raises(ActionRefused, match="only takes builds that ran on stage") as caught:
        deployment_promote(
            actor=rita,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=production.sid,
            reason="skip stage",
        )
    assert caught.value.status == 409
    assert PromotionRequest.objects.count() == 0


def test_rollback_and_clear_of_a_protected_environment_are_requests_too(
    upstream, protected, rita, anna
):
    production = env(upstream, "ivr-flows", "production")
    earlier = next(
        d.build_sid
        for d in upstream.store.deployments(production.sid)
        if d.build_sid and d.build_sid != production.build_sid
    )
    rollback = deployment_redeploy(
        actor=rita,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        build_sid=earlier,
        reason="5xx since the release",
    ).request
    clear = environment_clear(
        actor=rita,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        confirmation="production",
        reason="take it offline",
    ).request
    assert (rollback.action, clear.action) == ("redeploy", "clear")
    assert posts(upstream) == []
    approvals.request_approve(request_id=rollback.pk, actor=anna)
    assert env(upstream, "ivr-flows", "production").build_sid == earlier


def test_break_glass_deploys_at_once_and_waits_for_ratification(upstream, protected, rita, anna):
    rita.user_permissions.add(Permission.objects.get(codename="break_glass"))
    rita = type(rita).objects.get(pk=rita.pk)  # forget the permission cache
    stage = env(upstream, "ivr-flows", "stage")

    outcome = promote_stage_to_production(
        upstream, rita, reason="outage", grant=Grant(break_glass=True)
    )

    assert env(upstream, "ivr-flows", "production").build_sid == stage.build_sid
    request = outcome.request
    assert (request.break_glass, request.status, request.awaiting_ratification) == (
        True,
        Status.EXECUTED,
        True,
    )
    assert AuditEntry.objects.filter(action=Action.BREAK_GLASS).count() == 1
    assert mail.outbox[-1].to == ["anna@example.com"]
    rita.groups.add(Group.objects.get(name=roles.APPROVER))
    rita = type(rita).objects.get(pk=rita.pk)
    with pytest.raises(DecisionRefused, match="Someone else"):
        approvals.request_ratify(request_id=request.pk, actor=rita)
    approvals.request_ratify(request_id=request.pk, actor=anna)
    request.refresh_from_db()
    assert request.ratified_by == anna


def test_break_glass_needs_the_permission_and_a_second_confirmation_in_a_freeze(
    upstream, protected, rita
):
    with pytest.raises(ActionRefused, match="does not allow break-glass"):
        promote_stage_to_production(upstream, rita, reason="outage", grant=Grant(break_glass=True))
    rita.user_permissions.add(Permission.objects.get(codename="break_glass"))
    rita = type(rita).objects.get(pk=rita.pk)
    freeze_now(protected)
    with pytest.raises(ActionRefused, match="needs its second confirmation"):
        promote_stage_to_production(upstream, rita, reason="outage", grant=Grant(break_glass=True))
    assert posts(upstream) == []
    promote_stage_to_production(
        upstream, rita, reason="outage", grant=Grant(break_glass=True, freeze_confirmed=True)
    )
    assert len(posts(upstream)) == 1
