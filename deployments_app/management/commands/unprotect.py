"""`manage.py unprotect SERVICE ENV`: undo `protect`, so changes to ENV deploy at once.

Removes what protect sets (approvals and promotion order); freeze windows stay, as an
admin set them. Idempotent. ENV may be one that no longer exists upstream, as long as
it still has a policy (policies are kept by name and outlive their environment). Logged,
not audited: a policy edit is not a deployment action.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from deployments_app.management.resolve import no_environment, service_named
from deployments_app.models import EnvironmentPolicy, PromotionRequest

logger = logging.getLogger(__name__)

Status = PromotionRequest.Status


class Command(BaseCommand):
    help = "Stop protecting ENV of SERVICE: changes there deploy without approval."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        parser.add_argument("environment", help="Environment unique name (or SID)")

    def handle(self, *args: Any, **options: Any) -> None:
        service, listed = service_named(options["service"])
        key = options["environment"]
        target = next((e for e in listed if key in (e.sid, e.unique_name)), None)
        name = (target.unique_name or target.sid) if target else key
        policy = EnvironmentPolicy.objects.filter(
            service_sid=service.sid, environment_name=name
        ).first()
        if target is None and policy is None:
            raise CommandError(no_environment(service, listed, key))
        label = f"{service.unique_name or service.sid}/{name}"
        if policy is None or not (policy.protected or policy.promote_from):
            self.stdout.write(f"{label} is not protected; nothing changed.")
            return
        windows = policy.freeze_windows.count()
        if windows:
            policy.protected = False
            policy.promote_from = ""
            policy.save(update_fields=["protected", "promote_from", "updated_at"])
            kept = f"; its {windows} freeze window(s) still apply"
        else:
            policy.delete()
            kept = ""
        logger.info("Policy %s unprotected via cli%s", label, kept)
        self.stdout.write(
            self.style.SUCCESS(f"{label} unprotected: changes deploy without approval{kept}.")
        )
        waiting = PromotionRequest.objects.filter(
            status__in=[Status.OPEN, Status.FAILED],
            service_sid=service.sid,
            environment_name=name,
            expires_at__gt=timezone.now(),
        ).count()
        if waiting:
            self.stderr.write(
                self.style.WARNING(
                    f"{waiting} request(s) for {name} stay open: approve, reject or withdraw them."
                )
            )
