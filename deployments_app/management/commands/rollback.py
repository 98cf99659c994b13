"""`manage.py rollback SERVICE ENV BUILD_SID --as USER [--reason TEXT]`: the Redeploy button.
In a protected environment it makes the request and exits 3."""

from __future__ import annotations

from django.core.management.base import CommandParser

from deployments_app.management.resolve import ActionCall, ActionCommand
from deployments_app.services.deployments import ActionOutcome, deployment_redeploy


class Command(ActionCommand):
    help = (
        "Redeploy an earlier, completed build from the history of ENV. Audited, via cli. "
        "Exits 0 when deployed, 1 when refused, 3 when ENV is protected and the request "
        "awaits approval."
    )

    def add_action_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("build_sid", help="The build to roll back to (ZB…)")

    def perform(self, call: ActionCall) -> ActionOutcome:
        return deployment_redeploy(
            actor=call.actor,
            service_sid=call.service.sid,
            environment_sid=call.environments[0].sid,
            build_sid=call.options["build_sid"],
            reason=call.options["reason"],
            via="cli",
        )
