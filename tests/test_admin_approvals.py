"""The admin edits policies and freeze windows; requests, approvals and audit it only shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from deployments_app.models import (
    Approval,
    AuditEntry,
    EnvironmentPolicy,
    FreezeWindow,
    PromotionRequest,
)

pytestmark = pytest.mark.django_db

# Letters only, so that searching for a request's number finds no SID.
SERVICE = "ZS" + "a" * 32
ENVIRONMENT = "ZE" + "b" * 32
BUILD = "ZB" + "c" * 32
OTHER_BUILD = "ZB" + "d" * 32
DEPLOYMENT = "ZD" + "e" * 32


def admin_url(obj: Model | type[Model], view: str) -> str:
    meta = obj._meta
    args = [obj.pk] if isinstance(obj, Model) else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def results(body: str) -> str:
    """The changelist's table of rows, without the filters and the search box around it."""
    return body.split('id="result_list"', 1)[1].split("</table>", 1)[0]


def make_request(requester, **fields) -> PromotionRequest:
    values = {
        "expires_at": timezone.now() + timedelta(hours=24),
        "requester": requester,
        "action": AuditEntry.Action.PROMOTE,
        "reason": "Ship the new IVR menu",
        "service_sid": SERVICE,
        "service_name": "IVR Flows",
        "environment_sid": ENVIRONMENT,
        "environment_name": "production",
        "build_sid": BUILD,
        **fields,
    }
    return PromotionRequest.objects.create(**values)


@pytest.fixture
def approver(django_user_model):
    return django_user_model.objects.create_user("alex", password="pw-alex-admin")


@pytest.fixture
def decided(admin_user, approver) -> PromotionRequest:
    """An executed request, with its approval and its audit trail."""
    request = make_request(
        admin_user,
        status=PromotionRequest.Status.EXECUTED,
        executed_at=timezone.now(),
        deployment_sid=DEPLOYMENT,
    )
    Approval.objects.create(
        request=request,
        approver=approver,
        decision=Approval.Decision.APPROVE,
        comment="Looks good to me",
    )
    for action in (AuditEntry.Action.REQUEST, AuditEntry.Action.APPROVE):
        AuditEntry.objects.create(
            actor=admin_user.username,
            action=action,
            service_sid=SERVICE,
            environment_sid=ENVIRONMENT,
            environment_name="production",
            build_sid=BUILD,
            outcome=AuditEntry.Outcome.SUCCEEDED,
            request=request,
        )
    return request


@pytest.fixture
def approval(decided) -> Approval:
    return decided.approvals.get()


@pytest.fixture
def audit_entry(decided) -> AuditEntry:
    return decided.audit_entries.order_by("created_at", "id").first()


def policy_form(**windows: dict[str, str]) -> dict[str, str]:
    """The policy add form as a browser posts it, with one inline row per window."""
    data = {
        "service_sid": SERVICE,
        "service_label": "IVR Flows",
        "environment_name": "production",
        "protected": "on",
        "required_approvals": "2",
        "approver_group": "",
        "promote_from": "stage",
        "soak_minutes": "30",
        "time_zone": "Europe/Berlin",
        "request_lifetime_hours": "24",
        "freeze_windows-TOTAL_FORMS": str(len(windows)),
        "freeze_windows-INITIAL_FORMS": "0",
        "freeze_windows-MIN_NUM_FORMS": "0",
        "freeze_windows-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, window in enumerate(windows.values()):
        data.update({f"freeze_windows-{index}-{name}": value for name, value in window.items()})
    return data


ONE_OFF = {
    "reason": "Christmas freeze",
    "kind": "once",
    "starts_at_0": "2026-12-24",
    "starts_at_1": "00:00:00",
    "ends_at_0": "2026-12-27",
    "ends_at_1": "08:00:00",
}
WEEKEND = {
    "reason": "No weekend deploys",
    "kind": "weekly",
    "start_weekday": "4",
    "start_time": "17:00:00",
    "end_weekday": "0",
    "end_time": "07:00:00",
}


# --- policies and freeze windows: editable -------------------------------------------------


def test_a_policy_is_added_with_its_freeze_windows(admin_client):
    url = admin_url(EnvironmentPolicy, "add")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, policy_form(once=ONE_OFF, weekly=WEEKEND))

    assert response.status_code == 302
    policy = EnvironmentPolicy.objects.get()
    assert (policy.service_sid, policy.environment_name) == (SERVICE, "production")
    assert policy.required_approvals == 2
    assert policy.promote_from == "stage"
    assert policy.soak_minutes == 30
    windows = {window.kind: window for window in policy.freeze_windows.all()}
    assert set(windows) == {"once", "weekly"}
    assert windows["once"].ends_at - windows["once"].starts_at == timedelta(days=3, hours=8)
    assert windows["weekly"].schedule == "every Friday 17:00 → Monday 07:00 (Europe/Berlin)"


def test_a_freeze_window_ending_before_it_starts_is_refused_and_nothing_is_saved(admin_client):
    backwards = {**ONE_OFF, "ends_at_0": "2026-12-23"}

    response = admin_client.post(
        admin_url(EnvironmentPolicy, "add"), policy_form(once=backwards, weekly=WEEKEND)
    )

    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not EnvironmentPolicy.objects.exists()
    assert not FreezeWindow.objects.exists()


def test_a_weekly_window_without_its_end_is_refused(admin_client):
    endless = {**WEEKEND, "end_weekday": "", "end_time": ""}

    response = admin_client.post(admin_url(EnvironmentPolicy, "add"), policy_form(weekly=endless))

    assert response.status_code == 200
    assert "A weekly window needs a start and an end day and time." in response.content.decode()
    assert not EnvironmentPolicy.objects.exists()


def test_a_policy_for_a_mistyped_service_sid_is_refused(admin_client):
    data = {**policy_form(), "service_sid": "ZS123"}

    response = admin_client.post(admin_url(EnvironmentPolicy, "add"), data)

    assert response.status_code == 200
    assert "A Service SID is ZS followed by 32 hex digits." in response.content.decode()
    assert not EnvironmentPolicy.objects.exists()


def test_a_freeze_window_is_changed_on_its_policy_page(admin_client):
    admin_client.post(admin_url(EnvironmentPolicy, "add"), policy_form(weekly=WEEKEND))
    policy = EnvironmentPolicy.objects.get()
    window = policy.freeze_windows.get()
    data = policy_form(weekly={**WEEKEND, "id": str(window.pk), "end_time": "09:00:00"})
    data.update({"freeze_windows-INITIAL_FORMS": "1", "freeze_windows-0-policy": str(policy.pk)})

    response = admin_client.post(admin_url(policy, "change"), data)

    assert response.status_code == 302
    window.refresh_from_db()
    assert f"{window.end_time:%H:%M}" == "09:00"


def test_policies_are_listed_filtered_and_searched(admin_client):
    kept = EnvironmentPolicy.objects.create(
        service_sid=SERVICE, service_label="IVR Flows", environment_name="production"
    )
    other = EnvironmentPolicy.objects.create(
        service_sid="ZS" + "f" * 32, environment_name="stage", protected=False
    )
    url = admin_url(EnvironmentPolicy, "changelist")

    for query, shown, hidden in (
        ({"protected__exact": "1"}, kept, other),
        ({"q": "ivr"}, kept, other),
        ({"q": "ZSffff"}, other, kept),
    ):
        response = admin_client.get(url, query)
        assert response.status_code == 200
        rows = results(response.content.decode())
        assert admin_url(shown, "change") in rows
        assert admin_url(hidden, "change") not in rows


# --- requests, approvals and audit entries: read-only --------------------------------------


def test_the_request_page_shows_the_request_its_approvals_and_audit_read_only(
    admin_client, decided, approval, audit_entry
):
    response = admin_client.get(admin_url(decided, "change"))

    assert response.status_code == 200
    body = response.content.decode()
    for name in ("_save", "_continue", "_addanother", "reason", "status"):
        assert f'name="{name}"' not in body
    assert "-DELETE" not in body
    assert admin_url(decided, "delete") not in body
    assert "Ship the new IVR menu" in body
    assert "Looks good to me" in body
    assert admin_url(approval, "change") in body
    assert admin_url(audit_entry, "change") in body


def test_posting_a_change_to_a_request_changes_nothing(admin_client, decided, approval):
    data = {
        "status": "open",
        "reason": "rewritten",
        "approvals-TOTAL_FORMS": "1",
        "approvals-INITIAL_FORMS": "1",
        "approvals-0-id": str(approval.pk),
        "approvals-0-decision": "reject",
        "_save": "Save",
    }

    response = admin_client.post(admin_url(decided, "change"), data)

    assert response.status_code == 403
    decided.refresh_from_db()
    assert decided.status == PromotionRequest.Status.EXECUTED
    assert decided.reason == "Ship the new IVR menu"
    assert Approval.objects.get(pk=approval.pk).decision == Approval.Decision.APPROVE


@pytest.mark.parametrize("fixture", ["decided", "approval", "audit_entry"])
def test_deleting_a_request_an_approval_or_an_audit_entry_is_forbidden(
    admin_client, request, fixture
):
    obj = request.getfixturevalue(fixture)
    url = admin_url(obj, "delete")

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [PromotionRequest, Approval])
def test_requests_and_approvals_cannot_be_added(admin_client, model):
    url = admin_url(model, "add")
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {}).status_code == 403


@pytest.mark.parametrize("fixture", ["decided", "approval"])
def test_the_changelist_offers_no_add_and_no_bulk_delete(admin_client, request, fixture):
    obj = request.getfixturevalue(fixture)

    response = admin_client.get(admin_url(type(obj), "changelist"))

    assert response.status_code == 200
    body = response.content.decode()
    assert admin_url(type(obj), "add") not in body
    assert "delete_selected" not in body
    assert 'name="action"' not in body


def test_a_forged_bulk_delete_of_requests_deletes_nothing(admin_client, decided):
    response = admin_client.post(
        admin_url(PromotionRequest, "changelist"),
        {"action": "delete_selected", "_selected_action": [decided.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert PromotionRequest.objects.filter(pk=decided.pk).exists()


def test_requests_are_filtered_and_searched(admin_client, admin_user, approver, decided):
    waiting = make_request(approver, environment_name="stage", build_sid=OTHER_BUILD)
    old = make_request(approver, created_at=timezone.now() - timedelta(days=40), status="expired")
    url = admin_url(PromotionRequest, "changelist")

    for query, shown, hidden in (
        ({"status__exact": "open"}, waiting, decided),
        ({"status__exact": "executed"}, decided, waiting),
        ({"environment_name__exact": "stage"}, waiting, decided),
        ({"requester__id__exact": str(approver.pk)}, waiting, decided),
        ({"break_glass__exact": "0", "q": OTHER_BUILD}, waiting, decided),
        ({"q": DEPLOYMENT}, decided, waiting),
        ({"q": str(waiting.pk)}, waiting, decided),
    ):
        response = admin_client.get(url, query)
        assert response.status_code == 200, query
        rows = results(response.content.decode())
        assert admin_url(shown, "change") in rows, query
        assert admin_url(hidden, "change") not in rows, query

    # The date filter's "Today" link, and the date hierarchy's month.
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = {"created_at__gte": str(midnight), "created_at__lt": str(midnight + timedelta(1))}
    month = {"created_at__year": midnight.year, "created_at__month": midnight.month}
    for query in (today, month):
        response = admin_client.get(url, query)
        assert response.status_code == 200, query
        rows = results(response.content.decode())
        assert admin_url(waiting, "change") in rows, query
        assert admin_url(old, "change") not in rows, query


def test_an_open_request_past_its_expiry_is_listed_as_expired(admin_client, admin_user):
    make_request(admin_user, expires_at=timezone.now() - timedelta(minutes=1))

    response = admin_client.get(admin_url(PromotionRequest, "changelist"))

    assert "Expired" in results(response.content.decode())


def test_audit_entries_are_filtered_by_environment_and_user_and_found_by_sid(
    admin_client, decided, audit_entry
):
    other = AuditEntry.objects.create(
        actor="sam",
        action=AuditEntry.Action.CLEAR,
        service_sid="ZS" + "f" * 32,
        environment_sid="ZE" + "f" * 32,
        environment_name="dev",
        deployment_sid="ZD" + "f" * 32,
        outcome=AuditEntry.Outcome.FAILED,
    )
    url = admin_url(AuditEntry, "changelist")

    for query, shown, hidden in (
        ({"environment_name__exact": "dev"}, other, audit_entry),
        ({"actor__exact": "sam"}, other, audit_entry),
        ({"action__exact": "request"}, audit_entry, other),
        ({"q": "ZD" + "f" * 32}, other, audit_entry),
        ({"q": ENVIRONMENT}, audit_entry, other),
        ({"q": BUILD}, audit_entry, other),
        ({"q": "ZS" + "f" * 32}, other, audit_entry),
    ):
        response = admin_client.get(url, query)
        assert response.status_code == 200, query
        rows = results(response.content.decode())
        assert admin_url(shown, "change") in rows, query
        assert admin_url(hidden, "change") not in rows, query


# --- staff without superuser: what their permissions give -----------------------------------


@pytest.fixture
def staff(client, django_user_model):
    """A staff member without permissions, signed in; `grant` adds some."""
    user = django_user_model.objects.create_user("kim", password="pw-kim-admin", is_staff=True)
    client.force_login(user)

    def grant(*codenames: str) -> None:
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="deployments_app", codename__in=codenames
            )
        )

    client.grant = grant
    return client


def test_staff_without_permissions_see_no_requests_or_policies(staff, decided):
    assert staff.get(admin_url(PromotionRequest, "changelist")).status_code == 403
    assert staff.get(admin_url(decided, "change")).status_code == 403
    assert staff.get(admin_url(EnvironmentPolicy, "changelist")).status_code == 403


def test_staff_with_view_permission_read_requests_and_their_approvals(staff, decided):
    staff.grant("view_promotionrequest", "view_approval")

    assert staff.get(admin_url(PromotionRequest, "changelist")).status_code == 200
    page = staff.get(admin_url(decided, "change"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body
    assert "Looks good to me" in body
    # The audit trail needs its own permission.
    assert "audit trail" not in body.lower()


def test_staff_with_every_request_permission_still_cannot_change_or_delete(
    staff, decided, approval
):
    staff.grant(
        *(
            f"{verb}_{model}"
            for verb in ("add", "change", "delete", "view")
            for model in ("promotionrequest", "approval", "auditentry")
        )
    )

    assert staff.post(admin_url(decided, "change"), {"status": "open"}).status_code == 403
    assert staff.post(admin_url(decided, "delete"), {"post": "yes"}).status_code == 403
    assert staff.post(admin_url(approval, "delete"), {"post": "yes"}).status_code == 403
    assert staff.get(admin_url(PromotionRequest, "add")).status_code == 403
    decided.refresh_from_db()
    assert decided.status == PromotionRequest.Status.EXECUTED
    assert Approval.objects.filter(pk=approval.pk).exists()


def test_staff_who_may_only_view_policies_cannot_change_them(staff):
    policy = EnvironmentPolicy.objects.create(service_sid=SERVICE, environment_name="production")
    staff.grant("view_environmentpolicy", "view_freezewindow")

    assert staff.get(admin_url(policy, "change")).status_code == 200
    data = {**policy_form(), "required_approvals": "5"}
    assert staff.post(admin_url(policy, "change"), data).status_code == 403
    assert staff.get(admin_url(EnvironmentPolicy, "add")).status_code == 403
    policy.refresh_from_db()
    assert policy.required_approvals == 1


def test_staff_with_policy_permissions_edit_policies_and_windows(staff):
    staff.grant(
        "add_environmentpolicy",
        "change_environmentpolicy",
        "view_environmentpolicy",
        "add_freezewindow",
        "change_freezewindow",
        "view_freezewindow",
    )

    response = staff.post(admin_url(EnvironmentPolicy, "add"), policy_form(weekly=WEEKEND))

    assert response.status_code == 302
    assert EnvironmentPolicy.objects.get().freeze_windows.count() == 1
