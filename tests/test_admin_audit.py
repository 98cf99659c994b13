"""The audit trail and the deployment records are read-only, in the admin and in the model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from deployments_app.models import AppendOnlyError, AuditEntry, DeploymentRecord, EnvironmentLock

pytestmark = pytest.mark.django_db

SERVICE = "ZS" + "1" * 32
ENVIRONMENT = "ZE" + "2" * 32
BUILD = "ZB" + "3" * 32
DEPLOYMENT = "ZD" + "4" * 32


@pytest.fixture
def audit_entry() -> AuditEntry:
    return AuditEntry.objects.create(
        actor="rita",
        action=AuditEntry.Action.PROMOTE,
        service_sid=SERVICE,
        service_name="IVR Flows",
        environment_sid=ENVIRONMENT,
        environment_name="stage",
        build_sid=BUILD,
        outcome=AuditEntry.Outcome.SUCCEEDED,
    )


@pytest.fixture
def record(audit_entry) -> DeploymentRecord:
    return DeploymentRecord.objects.create(
        deployment_sid=DEPLOYMENT,
        service_sid=SERVICE,
        environment_sid=ENVIRONMENT,
        build_sid=BUILD,
        deployed_by="rita",
        audit_entry=audit_entry,
    )


@pytest.fixture
def lock() -> EnvironmentLock:
    return EnvironmentLock.objects.create(
        environment_sid=ENVIRONMENT,
        token="secret-lock-token",
        holder="rita",
        expires_at=timezone.now() + timedelta(minutes=2),
    )


def admin_url(obj: Model, view: str) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


# --- the admin ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["audit_entry", "record", "lock"])
def test_superusers_see_the_list_without_add_or_bulk_delete(admin_client, request, fixture):
    obj = request.getfixturevalue(fixture)
    meta = obj._meta
    response = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse(f"admin:{meta.app_label}_{meta.model_name}_add") not in body
    assert "delete_selected" not in body
    assert 'name="action"' not in body


@pytest.mark.parametrize("fixture", ["audit_entry", "record", "lock"])
def test_the_detail_page_is_read_only(admin_client, request, fixture):
    obj = request.getfixturevalue(fixture)
    response = admin_client.get(admin_url(obj, "change"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="_save"' not in body
    assert admin_url(obj, "delete") not in body


def test_posting_a_change_to_an_audit_entry_is_forbidden(admin_client, audit_entry):
    response = admin_client.post(
        admin_url(audit_entry, "change"),
        {"actor": "mallory", "outcome": "failed", "action": "promote", "_save": "Save"},
    )
    assert response.status_code == 403
    audit_entry.refresh_from_db()
    assert audit_entry.actor == "rita"
    assert audit_entry.outcome == AuditEntry.Outcome.SUCCEEDED


@pytest.mark.parametrize("fixture", ["audit_entry", "record", "lock"])
def test_deleting_through_the_admin_is_forbidden(admin_client, request, fixture):
    obj = request.getfixturevalue(fixture)
    url = admin_url(obj, "delete")
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [AuditEntry, DeploymentRecord, EnvironmentLock])
def test_adding_through_the_admin_is_forbidden(admin_client, model):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {}).status_code == 403


def test_a_forged_bulk_delete_action_deletes_nothing(admin_client, audit_entry):
    response = admin_client.post(
        reverse("admin:deployments_app_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [audit_entry.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert AuditEntry.objects.filter(pk=audit_entry.pk).exists()


def test_audit_entries_can_be_searched_and_filtered(admin_client, audit_entry):
    other = AuditEntry.objects.create(
        actor="sam",
        action=AuditEntry.Action.CLEAR,
        service_sid=SERVICE,
        environment_sid=ENVIRONMENT,
        outcome=AuditEntry.Outcome.FAILED,
    )
    url = reverse("admin:deployments_app_auditentry_changelist")
    found = admin_client.get(url, {"q": "sam"}).content.decode()
    assert "1 result" in found
    filtered = admin_client.get(url, {"outcome__exact": "succeeded"}).content.decode()
    assert admin_url(audit_entry, "change") in filtered
    # The rows only: the user filter beside them lists "sam" as a choice.
    assert "sam" not in filtered.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    assert admin_url(other, "change") not in filtered


def test_the_lock_token_is_not_shown(admin_client, lock):
    assert "secret-lock-token" not in admin_client.get(admin_url(lock, "change")).content.decode()


# --- the model ----------------------------------------------------------------------------


def test_saving_an_existing_entry_raises(audit_entry):
    audit_entry.actor = "mallory"
    with pytest.raises(AppendOnlyError):
        audit_entry.save()
    assert AuditEntry.objects.get(pk=audit_entry.pk).actor == "rita"


def test_deleting_an_entry_raises(audit_entry):
    with pytest.raises(AppendOnlyError):
        audit_entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=audit_entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.filter(pk=audit_entry.pk).exists()


def test_bulk_updates_raise(audit_entry):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=audit_entry.pk).update(actor="mallory")
    assert AuditEntry.objects.get(pk=audit_entry.pk).actor == "rita"


def test_only_a_pending_entry_is_completed_and_only_once():
    entry = AuditEntry.objects.create(
        actor="rita", action="clear", service_sid=SERVICE, environment_sid=ENVIRONMENT
    )
    assert entry.complete(outcome=AuditEntry.Outcome.SUCCEEDED, deployment_sid=DEPLOYMENT)
    assert not entry.complete(outcome=AuditEntry.Outcome.FAILED, error_message="rewrite")
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.outcome == AuditEntry.Outcome.SUCCEEDED
    assert stored.deployment_sid == DEPLOYMENT
    assert stored.error_message == ""
    assert stored.completed_at is not None


def test_a_finished_entry_cannot_be_completed_again(audit_entry):
    assert not audit_entry.complete(outcome=AuditEntry.Outcome.FAILED)
    assert AuditEntry.objects.get(pk=audit_entry.pk).outcome == AuditEntry.Outcome.SUCCEEDED
