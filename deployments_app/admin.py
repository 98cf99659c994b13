from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from deployments_app.models import (
    Approval,
    AuditEntry,
    DeploymentRecord,
    EnvironmentLock,
    EnvironmentPolicy,
    FreezeWindow,
    PromotionRequest,
    ServicePipeline,
    service_sid_validator,
)


@admin.register(ServicePipeline)
class ServicePipelineAdmin(admin.ModelAdmin):
    list_display = ("service_sid", "label", "environment_order")
    search_fields = ("service_sid", "label")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed: these rows are written only by the services.

    Without change permission the admin renders the change form read-only; with no
    actions at all there is no "delete selected" either. This holds for superusers too,
    whatever permissions a user is given.
    """

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """The rows under a read-only parent: listed, never added, changed or deleted."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- policies: edited here, read by services/policies.py ------------------------------------


class EnvironmentPolicyForm(forms.ModelForm):
    # No Meta: the admin builds the form for EnvironmentPolicy with all its fields.

    def clean_service_sid(self) -> str:
        # The model takes any string; a mistyped SID would leave the environment it was
        # meant for unprotected without a word, so the admin insists on a real one.
        sid: str = self.cleaned_data["service_sid"].strip()
        service_sid_validator(sid)
        return sid


class FreezeWindowInline(admin.StackedInline):
    # FreezeWindow.clean() checks the window (an end after its start, a weekly window
    # with both ends); the inline's model form runs it, so its errors show on the row.
    model = FreezeWindow
    extra = 1
    readonly_fields = ("when",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (None, {"fields": ("reason", "kind", "when")}),
            (
                "One-off",
                {
                    "fields": (("starts_at", "ends_at"),),
                    # The admin reads dates in the dashboard's zone, not the policy's.
                    "description": f"From … until, in {settings.TIME_ZONE}.",
                },
            ),
            (
                "Every week",
                {
                    "fields": (("start_weekday", "start_time"), ("end_weekday", "end_time")),
                    "description": "From a day and time to a day and time, in the policy's "
                    "time zone.",
                },
            ),
        ]

    @admin.display(description="schedule")
    def when(self, obj: FreezeWindow) -> str:
        return obj.schedule if obj.pk else "—"


@admin.register(EnvironmentPolicy)
class EnvironmentPolicyAdmin(admin.ModelAdmin):
    form = EnvironmentPolicyForm
    inlines = (FreezeWindowInline,)
    list_display = (
        "service_label",
        "service_sid",
        "environment_name",
        "protected",
        "required_approvals",
        "approver_group",
        "promote_from",
        "soak_minutes",
        "time_zone",
    )
    list_display_links = ("service_label", "service_sid")
    list_filter = ("protected", "environment_name")
    list_select_related = ("approver_group",)
    search_fields = ("service_sid", "service_label", "environment_name")


# --- requests, approvals and the audit: written only by the services ------------------------


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ("approver", "decision", "comment", "created_at", "voided_at", "void_reason")
    show_change_link = True


class RequestAuditInline(ReadOnlyInline):
    model = AuditEntry
    verbose_name = "audit entry"
    verbose_name_plural = "audit trail"
    fields = ("created_at", "actor", "action", "outcome", "build_sid", "deployment_sid")
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        # The request's story, told in order.
        return super().get_queryset(request).order_by("created_at", "id")


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyAdmin):
    # Decisions are made on the dashboard's request page (services/approvals.py), which
    # checks the approver, the plan and the freeze windows and writes the audit; the
    # admin only shows them.
    inlines = (ApprovalInline, RequestAuditInline)
    list_display = (
        "id",
        "shown_status",
        "action",
        "environment_name",
        "service_name",
        "requester",
        "created_at",
        "break_glass",
    )
    list_filter = (
        "status",
        "environment_name",
        ("requester", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "break_glass",
    )
    list_select_related = ("requester",)
    search_fields = ("id__exact", "build_sid", "environment_sid", "service_sid", "deployment_sid")
    date_hierarchy = "created_at"

    @admin.display(description="status", ordering="status")
    def shown_status(self, obj: PromotionRequest) -> str:
        # An open request past its expiry is expired before anything marks it so.
        return obj.shown_status_label


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("request", "approver", "decision", "created_at", "voided_at")
    list_filter = (
        "decision",
        ("voided_at", admin.EmptyFieldListFilter),
        ("approver", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    list_select_related = ("request", "approver")
    search_fields = (
        "request__id__exact",
        "request__build_sid",
        "request__environment_sid",
        "request__service_sid",
    )
    date_hierarchy = "created_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor",
        "via",
        "action",
        "service_name",
        "environment_name",
        "build_sid",
        "outcome",
        "error_code",
    )
    list_filter = ("action", "outcome", "environment_name", "actor", "via", "created_at")
    search_fields = (
        "actor",
        "service_sid",
        "service_name",
        "environment_sid",
        "environment_name",
        "build_sid",
        "previous_build_sid",
        "deployment_sid",
        "error_message",
        "reason",
    )
    date_hierarchy = "created_at"


@admin.register(DeploymentRecord)
class DeploymentRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "deployment_sid",
        "environment_sid",
        "build_sid",
        "date_created",
        "deployed_by",
        "cleared_upstream_at",
    )
    list_filter = ("cleared_upstream_at",)
    search_fields = ("deployment_sid", "service_sid", "environment_sid", "build_sid", "deployed_by")
    date_hierarchy = "date_created"


@admin.register(EnvironmentLock)
class EnvironmentLockAdmin(ReadOnlyAdmin):
    # Locks expire by themselves (services/locks.py); an admin never needs to break one.
    list_display = ("environment_sid", "holder", "acquired_at", "expires_at")
    search_fields = ("environment_sid", "holder")
    # The token is what lets the holder release the lock; nobody else needs to see it.
    exclude = ("token",)
