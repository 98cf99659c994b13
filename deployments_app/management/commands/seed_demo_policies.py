"""Protect each demo service's production, and add one weekly freeze. Demo mode only.

Every service's production takes one approval and only builds that ran on stage; the
billing service's production also freezes every weekend, so the demo shows a freeze.
Idempotent: a second run leaves what an admin changed since.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deployments_app.models import EnvironmentPolicy, FreezeWindow
from deployments_app.services.serverless import get_client
from deployments_app.services.serverless_errors import ServerlessError

FROZEN_SERVICE = "billing-webhooks"
SOAK_SERVICE = "ivr-flows"
SOAK_MINUTES = 30


class Command(BaseCommand):
    help = "Protect production in every demo service (one approval, promotion from stage)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("Demo policies are only seeded against the local emulator.")
        client = get_client()
        try:
            services = client.service_list()
            listed = client.read_many(
                lambda service: client.environment_list(service_sid=service.sid), services
            )
        except ServerlessError as exc:
            raise CommandError(f"Could not read the emulator: {exc.user_message}") from None
        protected = 0
        for service, environments in zip(services, listed, strict=True):
            names = {e.unique_name for e in environments}
            if "production" not in names:
                continue
            policy, created = EnvironmentPolicy.objects.get_or_create(
                service_sid=service.sid,
                environment_name="production",
                defaults={
                    "service_label": service.friendly_name or service.unique_name or "",
                    "required_approvals": 1,
                    "promote_from": "stage" if "stage" in names else "",
                    # The soak rule, where the demo history just promoted to stage.
                    "soak_minutes": SOAK_MINUTES if service.unique_name == SOAK_SERVICE else 0,
                },
            )
            protected += created
            if created and service.unique_name == FROZEN_SERVICE:
                FreezeWindow.objects.create(
                    policy=policy,
                    reason="Weekend change freeze",
                    kind=FreezeWindow.Kind.WEEKLY,
                    start_weekday=FreezeWindow.Weekday.FRIDAY,
                    start_time=time(17, 0),
                    end_weekday=FreezeWindow.Weekday.MONDAY,
                    end_time=time(7, 0),
                )
        self.stdout.write(
            f"Demo policies: production protected in {protected} new service(s) "
            "(1 approval, promotion from stage); billing-webhooks freezes every weekend; "
            f"{SOAK_SERVICE} production takes builds that soaked {SOAK_MINUTES} minutes on stage."
        )
