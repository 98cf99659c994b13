"""The approval workflow from a shell: protected actions, decisions, requests, policies.

promote, rollback and clear_environment into a protected environment make a request and
exit 3; approve, reject and withdraw decide it through services/approvals.py; protect and
unprotect keep the policies in a script. Everything runs against the emulator, and every
step is audited `via cli` like the buttons' `via web`.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, EnvironmentPolicy, FreezeWindow, PromotionRequest
from deployments_app.templatetags.dashboard_tags import short_sid

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
Status = PromotionRequest.Status
REASON = "ship the retry fix"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def exits(code: int, *args: str) -> str:
    """The command's output, checked to end the run with SystemExit(code)."""
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(*args, stdout=out, stderr=io.StringIO())
    assert exited.value.code == code
    return out.getvalue()


def refused(*args: str) -> str:
    """The command's error message, checked to be one line with exit code 1."""
    with pytest.raises(CommandError) as caught:
        run(*args)
    message = str(caught.value)
    assert caught.value.returncode == 1
    assert message
    assert "\n" not in message
    return message


def deployment_posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST" and r.path.endswith("/Deployments")]


def page(request: PromotionRequest) -> str:
    return f"{settings.DASHBOARD_URL}/approvals/{request.pk}/"


def approver(django_user_model, name: str, *groups: str):
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user(name, email=f"{name}@example.com")
    user.groups.add(*Group.objects.filter(name__in=groups or (roles.APPROVER,)))
    return user


@pytest.fixture
def anna(django_user_model):
    return approver(django_user_model, "anna")


@pytest.fixture
def bob(django_user_model):
    return approver(django_user_model, "bob")


@pytest.fixture
def protected(seed) -> EnvironmentPolicy:
    """ivr-flows production, protected by the command: one approval, builds from stage."""
    run("protect", "ivr-flows", "production", "--from", "stage")
    return EnvironmentPolicy.objects.get()


def request_promotion(*extra: str) -> PromotionRequest:
    """rita asks to promote ivr-flows stage to production (exit 3): the request made."""
    output = exits(
        3, "promote", "ivr-flows", "stage", "production", "--as", "rita", "--reason", REASON, *extra
    )
    request = PromotionRequest.objects.get()
    assert output == f"Request #{request.pk} is awaiting approval (0 of 1): {page(request)}\n"
    return request


def request_promotion_again() -> PromotionRequest:
    """The same, when other requests exist already."""
    exits(3, "promote", "ivr-flows", "stage", "production", "--as", "rita", "--reason", REASON)
    return PromotionRequest.objects.latest("id")


# --- protected actions: a request, exit 3, nothing deployed --------------------------------


def test_promote_into_a_protected_environment_makes_a_request_and_exits_3(
    upstream, seed, rita, protected
):
    stage, production = seed.env("ivr-flows", "stage"), seed.env("ivr-flows", "production")
    assert stage.build_sid != production.build_sid
    before = seed.state()

    request = request_promotion()

    assert seed.state() == before
    assert upstream.store.environment(production.sid).build_sid == production.build_sid
    assert not deployment_posts(upstream)
    assert (request.status, request.action, request.requester, request.via) == (
        Status.OPEN,
        "promote",
        rita,
        "cli",
    )
    assert (request.build_sid, request.live_build_sid) == (stage.build_sid, production.build_sid)
    assert (request.environment_sid, request.reason) == (production.sid, REASON)
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.outcome, entry.actor, entry.via) == (
        Action.REQUEST,
        Outcome.SUCCEEDED,
        "rita",
        "cli",
    )
    assert entry.request == request


def test_rollback_and_clear_of_a_protected_environment_make_requests_too(
    upstream, seed, rita, protected
):
    production = seed.env("ivr-flows", "production")
    earlier = next(
        d.build_sid
        for d in seed.store.deployments(production.sid)
        if d.build_sid
        and d.build_sid != production.build_sid
        and seed.store.build(d.build_sid).status == "completed"
    )
    before = seed.state()

    rolled = exits(
        3, "rollback", "ivr-flows", "production", earlier, "--as", "rita", "--reason", "broke"
    )
    cleared = exits(
        3,
        "clear_environment",
        *("ivr-flows", "production", "--as", "rita", "--confirm", "production"),
        *("--reason", "retire it"),
    )

    assert seed.state() == before
    assert not deployment_posts(upstream)
    clear, redeploy = PromotionRequest.objects.order_by("-id")
    assert (redeploy.action, redeploy.build_sid, redeploy.reason) == ("redeploy", earlier, "broke")
    assert (clear.action, clear.build_sid, clear.reason) == ("clear", "", "retire it")
    assert rolled == f"Request #{redeploy.pk} is awaiting approval (0 of 1): {page(redeploy)}\n"
    assert cleared == f"Request #{clear.pk} is awaiting approval (0 of 1): {page(clear)}\n"
    assert set(AuditEntry.objects.values_list("action", "via")) == {(Action.REQUEST, "cli")}


def test_a_protected_action_without_a_reason_is_refused_and_makes_no_request(
    upstream, seed, rita, protected
):
    message = refused("promote", "ivr-flows", "stage", "production", "--as", "rita")
    assert message == (
        "production is protected: give a reason, and the change goes to approvers "
        "(1 approval needed)."
    )
    assert not PromotionRequest.objects.exists()
    assert not deployment_posts(upstream)
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.outcome, entry.via) == (Action.PROMOTE, Outcome.REFUSED, "cli")


def test_the_same_change_asked_twice_is_refused_while_the_first_waits(seed, rita, protected):
    request = request_promotion()
    message = refused(
        "promote", "ivr-flows", "stage", "production", "--as", "rita", "--reason", "again"
    )
    assert message == f"Request #{request.pk} for this change is already awaiting approval."
    assert PromotionRequest.objects.count() == 1


def test_from_the_command_line_a_request_is_exit_code_3_with_its_line_on_stdout(
    seed, rita, protected, capsys, monkeypatch
):
    # run_from_argv closes every connection when done; the test's transaction needs its own.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("deployments_app", "promote")
    argv = ["manage.py", "promote", "ivr-flows", "stage", "production", "--as", "rita"]
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv([*argv, "--reason", REASON])
    assert exited.value.code == 3
    request = PromotionRequest.objects.get()
    captured = capsys.readouterr()
    assert captured.out == f"Request #{request.pk} is awaiting approval (0 of 1): {page(request)}\n"
    assert captured.err == ""


# --- approve --------------------------------------------------------------------------------


def test_an_approvers_approval_deploys_the_request_and_exits_0(
    upstream, seed, rita, anna, protected
):
    stage, production = seed.env("ivr-flows", "stage"), seed.env("ivr-flows", "production")
    request = request_promotion()

    output = run("approve", str(request.pk), "--as", "anna", "--comment", "looks good")

    assert upstream.store.environment(production.sid).build_sid == stage.build_sid
    assert len(deployment_posts(upstream)) == 1
    request.refresh_from_db()
    assert request.status == Status.EXECUTED
    deployment = seed.store.deployments(production.sid)[0]
    assert request.deployment_sid == deployment.sid
    assert output == (
        f"Approved and deployed. Promoted {stage.build_sid} in production: "
        f"deployment {deployment.sid}.\n"
    )
    steps = list(request.audit_entries.order_by("id").values_list("action", "actor", "via"))
    assert steps == [
        (Action.REQUEST, "rita", "cli"),
        (Action.APPROVE, "anna", "cli"),
        (Action.PROMOTE, "rita", "approval"),
    ]
    assert request.approvals.get().comment == "looks good"


def test_an_approval_short_of_the_required_number_exits_3_with_the_count(
    upstream, seed, rita, anna, bob
):
    run("protect", "ivr-flows", "production", "--approvals", "2")
    output = exits(
        3, "promote", "ivr-flows", "stage", "production", "--as", "rita", "--reason", REASON
    )
    request = PromotionRequest.objects.get()
    assert output == f"Request #{request.pk} is awaiting approval (0 of 2): {page(request)}\n"

    first = exits(3, "approve", f"#{request.pk}", "--as", "anna")

    assert first == (
        f"Approved: 1 of 2 approvals. Request #{request.pk} is awaiting approval (1 of 2): "
        f"{page(request)}\n"
    )
    assert not deployment_posts(upstream)
    assert "Approved and deployed." in run("approve", str(request.pk), "--as", "bob")
    assert len(deployment_posts(upstream)) == 1


def test_self_approval_is_refused_with_exit_1_and_audited(
    upstream, seed, django_user_model, protected
):
    approver(django_user_model, "ada", roles.RELEASE_MANAGER, roles.APPROVER)
    exits(3, "promote", "ivr-flows", "stage", "production", "--as", "ada", "--reason", REASON)
    request = PromotionRequest.objects.get()

    message = refused("approve", str(request.pk), "--as", "ada")

    assert message == "You cannot approve your own request."
    assert not deployment_posts(upstream)
    request.refresh_from_db()
    assert request.status == Status.OPEN
    entry = request.audit_entries.latest("id")
    assert (entry.action, entry.outcome, entry.actor, entry.via) == (
        Action.APPROVE,
        Outcome.REFUSED,
        "ada",
        "cli",
    )


def test_self_approval_deploys_where_the_policy_allows_it(upstream, seed, django_user_model):
    approver(django_user_model, "ada", roles.RELEASE_MANAGER, roles.APPROVER)
    run("protect", "ivr-flows", "production", "--allow-self-approval")
    exits(3, "promote", "ivr-flows", "stage", "production", "--as", "ada", "--reason", REASON)
    request = PromotionRequest.objects.get()
    assert run("approve", str(request.pk), "--as", "ada").startswith("Approved and deployed.")
    assert len(deployment_posts(upstream)) == 1


def test_approving_needs_the_approver_role(upstream, seed, rita, vera, protected):
    request = request_promotion()
    assert refused("approve", str(request.pk), "--as", "vera") == (
        "Your role does not allow approving this request."
    )
    assert not deployment_posts(upstream)
    entry = request.audit_entries.latest("id")
    assert (entry.action, entry.outcome, entry.actor, entry.via) == (
        Action.APPROVE,
        Outcome.REFUSED,
        "vera",
        "cli",
    )


def test_approving_an_unknown_or_decided_request_is_refused(seed, rita, anna, protected):
    assert refused("approve", "999", "--as", "anna") == "No request #999."
    request = request_promotion()
    run("approve", str(request.pk), "--as", "anna")
    assert refused("approve", str(request.pk), "--as", "anna") == (
        f"Request #{request.pk} is deployed; it takes no more decisions."
    )


@pytest.mark.parametrize("number", ["twelve", "0", "-3", "#"])
def test_a_request_number_that_is_not_one_is_refused(seed, anna, number):
    assert "is not a request number" in refused("approve", number, "--as", "anna")


def test_approve_reject_and_withdraw_need_a_known_user(seed):
    for decision in ("approve", "reject", "withdraw"):
        assert refused(decision, "1", "--as", "nobody") == "No user named 'nobody'."
        with pytest.raises(CommandError, match="--as"):
            run(decision, "1")


# --- reject and withdraw ------------------------------------------------------------------


@pytest.mark.parametrize("comment", [None, "   "])
def test_a_rejection_without_a_comment_is_refused_and_audited(
    upstream, seed, rita, anna, protected, comment
):
    request = request_promotion()
    extra = () if comment is None else ("--comment", comment)

    message = refused("reject", str(request.pk), "--as", "anna", *extra)

    assert message == "Say why you reject it: a comment is required."
    request.refresh_from_db()
    assert request.status == Status.OPEN
    entry = request.audit_entries.latest("id")
    assert (entry.action, entry.outcome, entry.actor, entry.via) == (
        Action.REJECT,
        Outcome.REFUSED,
        "anna",
        "cli",
    )


def test_a_rejection_with_a_comment_ends_the_request(upstream, seed, rita, anna, protected):
    request = request_promotion()

    output = run("reject", str(request.pk), "--as", "anna", "--comment", "not on a Friday")

    assert output == f"Request #{request.pk} rejected.\n"
    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert not deployment_posts(upstream)
    entry = request.audit_entries.latest("id")
    assert (entry.action, entry.outcome, entry.via, entry.reason) == (
        Action.REJECT,
        Outcome.SUCCEEDED,
        "cli",
        "not on a Friday",
    )
    assert refused("approve", str(request.pk), "--as", "anna") == (
        f"Request #{request.pk} is rejected; it takes no more decisions."
    )


def test_the_requester_withdraws_a_request_and_nobody_else_can(
    upstream, seed, rita, anna, protected
):
    request = request_promotion()

    assert refused("withdraw", str(request.pk), "--as", "anna") == (
        "Only the requester can withdraw it."
    )
    assert run("withdraw", str(request.pk), "--as", "rita") == (
        f"Request #{request.pk} withdrawn.\n"
    )
    assert refused("withdraw", str(request.pk), "--as", "rita") == ("It was withdrawn already.")

    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert not deployment_posts(upstream)
    steps = list(
        request.audit_entries.order_by("id").values_list("action", "outcome", "actor", "via")
    )
    assert steps == [
        (Action.REQUEST, Outcome.SUCCEEDED, "rita", "cli"),
        (Action.WITHDRAW, Outcome.REFUSED, "anna", "cli"),
        (Action.WITHDRAW, Outcome.SUCCEEDED, "rita", "cli"),
        (Action.WITHDRAW, Outcome.REFUSED, "rita", "cli"),
    ]


# --- requests -------------------------------------------------------------------------------


def test_requests_lists_one_line_per_request_and_open_only_those_awaiting(
    seed, rita, anna, protected
):
    stage = seed.env("ivr-flows", "stage")
    rejected = request_promotion()
    run("reject", str(rejected.pk), "--as", "anna", "--comment", "no")
    waiting = request_promotion_again()

    listed = run("requests", "--open").splitlines()
    everything = run("requests").splitlines()

    assert len(listed) == 1
    assert listed[0].split("  ") == [
        f"#{waiting.pk}",
        "Awaiting approval",
        "promote",
        "IVR Flows / production",
        short_sid(stage.build_sid),
        "rita",
        "0/1",
    ]
    assert len(everything) == 2
    assert everything[0] == listed[0]
    assert everything[1].startswith(f"#{rejected.pk}  Rejected  ")


def test_requests_counts_standing_approvals_and_shows_expired_ones_so(seed, rita, anna, protected):
    protected.required_approvals = 2
    protected.save()
    request = request_promotion_again()
    exits(3, "approve", str(request.pk), "--as", "anna")
    assert run("requests", "--open").rstrip().endswith("rita  1/2")

    PromotionRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert run("requests", "--open") == ""
    assert "  Expired  " in run("requests")


def test_requests_with_none_prints_nothing_on_stdout(seed):
    out, err = io.StringIO(), io.StringIO()
    call_command("requests", "--open", stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == ("", "No requests awaiting a decision.\n")


# --- protect and unprotect --------------------------------------------------------------------


def test_protect_creates_the_policy_and_a_second_run_changes_nothing(seed):
    service = seed.service("ivr-flows")

    first = run("protect", "ivr-flows", "production", "--from", "stage")
    policy = EnvironmentPolicy.objects.get()
    stamp = policy.updated_at
    second = run("protect", service.sid, "production", "--from", "stage")

    assert first == (
        "ivr-flows/production protected (created): 1 approval from the Approver role, "
        "promotion from stage, no self-approval.\n"
    )
    assert second == first.replace("(created)", "(unchanged)")
    policy = EnvironmentPolicy.objects.get()
    assert policy.updated_at == stamp
    assert (policy.service_sid, policy.environment_name, policy.service_label) == (
        service.sid,
        "production",
        "IVR Flows",
    )
    assert (policy.protected, policy.required_approvals, policy.promote_from) == (
        True,
        1,
        "stage",
    )
    assert policy.approver_group is None
    assert not policy.allow_self_approval
    # A policy edit is logged, not a deployment action.
    assert not AuditEntry.objects.exists()


def test_protect_states_the_whole_policy_so_a_left_out_option_is_its_default(seed):
    roles.ensure_role_groups()
    output = run(
        "protect",
        *("ivr-flows", "production", "--approvals", "3", "--approver-group", "Approver"),
        *("--from", "stage", "--allow-self-approval"),
    )
    assert output == (
        "ivr-flows/production protected (created): 3 approvals from Approver, "
        "promotion from stage, self-approval allowed.\n"
    )
    policy = EnvironmentPolicy.objects.get()
    assert (policy.required_approvals, policy.approver_group.name) == (3, "Approver")

    again = run("protect", "ivr-flows", "production")

    assert again.startswith("ivr-flows/production protected (updated): 1 approval")
    policy.refresh_from_db()
    assert (policy.required_approvals, policy.approver_group, policy.promote_from) == (1, None, "")
    assert not policy.allow_self_approval


def test_protect_keeps_what_only_an_admin_sets(seed):
    run("protect", "ivr-flows", "production")
    policy = EnvironmentPolicy.objects.get()
    policy.time_zone = "Europe/Berlin"
    policy.request_lifetime_hours = 8
    policy.protected = False
    policy.save()

    run("protect", "ivr-flows", "production", "--approvals", "2")

    policy.refresh_from_db()
    assert (policy.time_zone, policy.request_lifetime_hours) == ("Europe/Berlin", 8)
    assert (policy.protected, policy.required_approvals) == (True, 2)


def test_protect_warns_when_the_approver_group_has_no_approver(seed, rita):
    Group.objects.create(name="Payments")
    err = io.StringIO()
    call_command(
        "protect",
        "ivr-flows",
        "production",
        "--approver-group",
        "Payments",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert err.getvalue() == (
        "No active member of Payments has the Approver role yet: only administrators can "
        "approve here.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-service", "production"), "No service 'no-such-service'."),
        (
            ("ivr-flows", "qa"),
            "Service ivr-flows has no environment 'qa' (it has: dev, stage, production).",
        ),
        (
            ("ivr-flows", "production", "--from", "qa"),
            "Service ivr-flows has no environment 'qa' (it has: dev, stage, production).",
        ),
        (
            ("ivr-flows", "production", "--from", "production"),
            "production cannot take its promotions from itself.",
        ),
        (
            ("ivr-flows", "production", "--approver-group", "Nobody"),
            "No group named 'Nobody' (there are: Approver, Release manager, Viewer).",
        ),
    ],
)
def test_protect_refuses_what_it_cannot_resolve(seed, args, message):
    roles.ensure_role_groups()
    assert refused("protect", *args) == message
    assert not EnvironmentPolicy.objects.exists()


@pytest.mark.parametrize("count", ["0", "11", "two", "-1"])
def test_protect_takes_1_to_10_approvals(seed, count):
    message = refused("protect", "ivr-flows", "production", "--approvals", count)
    assert "give a number from 1 to 10" in message
    assert not EnvironmentPolicy.objects.exists()


def test_unprotect_removes_the_policy_and_a_second_run_changes_nothing(
    upstream, seed, rita, protected
):
    stage, production = seed.env("ivr-flows", "stage"), seed.env("ivr-flows", "production")

    first = run("unprotect", "ivr-flows", "production")
    second = run("unprotect", "ivr-flows", "production")

    assert first == "ivr-flows/production unprotected: changes deploy without approval.\n"
    assert second == "ivr-flows/production is not protected; nothing changed.\n"
    assert not EnvironmentPolicy.objects.exists()
    assert run("promote", "ivr-flows", "stage", "production", "--as", "rita").startswith(
        f"Promoted {stage.build_sid} in production"
    )
    assert upstream.store.environment(production.sid).build_sid == stage.build_sid


def test_unprotect_keeps_the_freeze_windows_and_says_open_requests_stay(seed, rita, protected):
    FreezeWindow.objects.create(
        policy=protected,
        reason="Weekend change freeze",
        kind=FreezeWindow.Kind.ONCE,
        starts_at=timezone.now() + timedelta(days=30),
        ends_at=timezone.now() + timedelta(days=31),
    )
    request = request_promotion()
    out, err = io.StringIO(), io.StringIO()

    call_command("unprotect", "ivr-flows", "production", stdout=out, stderr=err)

    assert out.getvalue() == (
        "ivr-flows/production unprotected: changes deploy without approval; its 1 freeze "
        "window(s) still apply.\n"
    )
    assert err.getvalue() == (
        "1 request(s) for production stay open: approve, reject or withdraw them.\n"
    )
    policy = EnvironmentPolicy.objects.get()
    assert (policy.protected, policy.promote_from, policy.freeze_windows.count()) == (False, "", 1)
    request.refresh_from_db()
    assert request.status == Status.OPEN


def test_unprotect_takes_a_policy_whose_environment_is_gone_upstream(seed):
    service = seed.service("ivr-flows")
    EnvironmentPolicy.objects.create(service_sid=service.sid, environment_name="qa")
    assert run("unprotect", "ivr-flows", "qa") == (
        "ivr-flows/qa unprotected: changes deploy without approval.\n"
    )
    assert not EnvironmentPolicy.objects.exists()
    assert refused("unprotect", "ivr-flows", "qa") == (
        "Service ivr-flows has no environment 'qa' (it has: dev, stage, production)."
    )


def test_unprotect_of_an_unknown_service_is_refused(seed):
    assert refused("unprotect", "no-such-service", "production") == (
        "No service 'no-such-service'."
    )


# --- reconcile expires requests -----------------------------------------------------------------


def test_reconcile_expires_requests_past_their_lifetime_and_says_so(seed, rita, protected):
    request = request_promotion()
    PromotionRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    first = run("reconcile")
    second = run("reconcile")

    assert first.startswith("Checked 15 environment(s) against Twilio")
    assert first.endswith(". 1 approval request(s) expired.\n")
    assert "expired" not in second
    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    entry = request.audit_entries.latest("id")
    assert (entry.action, entry.via) == (Action.EXPIRE, "system")
