from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeploymentsAppConfig(AppConfig):
    name = "deployments_app"
    verbose_name = "Release dashboard"

    def ready(self) -> None:
        from deployments_app.roles import ensure_role_groups

        # After migrate, and after the test runner's flush, the roles exist with their rights.
        post_migrate.connect(ensure_role_groups, sender=self)
