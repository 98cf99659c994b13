from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentLock, ServicePipeline


@admin.register(ServicePipeline)
class ServicePipelineAdmin(admin.ModelAdmin):
    list_display = ("service_sid", "label", "environment_order")
    search_fields = ("service_sid", "label")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed: these rows are written only by services/deployments.py.

    Without change permission the admin renders the change form read-only; with no
    actions at all there is no "delete selected" either. This holds for superusers too.
    """

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    list_filter = ("action", "outcome", "via", "created_at")
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
