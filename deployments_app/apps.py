from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeploymentsAppConfig(AppConfig):
    name = "deployments_app"
    verbose_name = "Release dashboard"

    def ready(self) -> None:
        from axes.signals import user_locked_out  # type: ignore[import-untyped]
        from django.db.backends.signals import connection_created

        from deployments_app.request_log import install_record_factory
        from deployments_app.roles import ensure_role_groups
        from deployments_app.services.page_cache import watch_record_writes
        from deployments_app.services.sign_in_audit import lockout_record

        # After migrate, and after the test runner's flush, the roles exist with their rights.
        post_migrate.connect(ensure_role_groups, sender=self)
        install_record_factory()
        # Rendered pages are kept while our records are unchanged: every write is counted.
        connection_created.connect(watch_record_writes, dispatch_uid="page-cache-writes")
        # The audit log records each sign-in lockout as it begins.
        user_locked_out.connect(lockout_record, dispatch_uid="audit-sign-in-lockouts")
