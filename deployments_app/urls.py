from __future__ import annotations

from django.urls import path, register_converter

from deployments_app import converters
from deployments_app.views import (
    actions,
    approvals,
    audit,
    compare,
    health,
    labels,
    logs,
    pages,
    refresh,
)

register_converter(converters.ServiceSidConverter, "service_sid")
register_converter(converters.EnvironmentSidConverter, "environment_sid")
register_converter(converters.BuildSidConverter, "build_sid")

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("overview/services/<service_sid:service_sid>/", pages.overview_row, name="overview_row"),
    path(
        "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/",
        pages.environment_detail,
        name="environment",
    ),
    path(
        "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/logs/",
        logs.environment_logs,
        name="environment_logs",
    ),
    # Error counts since a deploy (?since=), an htmx fragment.
    path(
        "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/health/",
        logs.environment_health,
        name="environment_health",
    ),
    path(
        "services/<service_sid:service_sid>/builds/<build_sid:build_sid>/",
        pages.build_detail,
        name="build",
    ),
    path(
        "services/<service_sid:service_sid>/builds/<build_sid:build_sid>/label/",
        labels.build_label,
        name="build_label",
    ),
    # ?base=<build>&head=<build>, or ?head=<build>&environment=<env>; &source=&target=
    # add the variables drift between two environments.
    path("services/<service_sid:service_sid>/compare/", compare.compare, name="compare"),
    # Deployment actions: GET renders the confirmation dialog (changes nothing),
    # POST performs the action.
    path("actions/promote/", actions.promote, name="promote"),
    path("actions/redeploy/", actions.redeploy, name="redeploy"),
    path("actions/restore/", actions.restore, name="restore"),
    path("actions/clear/", actions.clear, name="clear"),
    # Reconcile our records with Twilio now (page reads never write).
    path("refresh/", refresh.refresh, name="refresh"),
    path("approvals/", approvals.approval_list, name="approvals"),
    path("approvals/count/", approvals.approval_count, name="approvals_count"),
    path("approvals/<int:request_id>/", approvals.request_detail, name="request"),
    # approve, reject, withdraw, retry (a failed execution) or ratify (a break-glass).
    path(
        "approvals/<int:request_id>/<slug:decision>/",
        approvals.request_decide,
        name="request_decide",
    ),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    # For load balancers: the database, the cache and Twilio; no login, no secrets.
    path("healthz", health.healthz, name="healthz"),
]
