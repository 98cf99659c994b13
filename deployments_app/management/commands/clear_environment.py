"""`manage.py clear_environment SERVICE ENV --as USER --confirm ENV_NAME [--reason TEXT]`: the
Clear button. In a protected environment it makes the request and exits 3."""

from __future__ import annotations

from django.core.management.base import CommandParser

from deployments_app.management.resolve import ActionCall, ActionCommand
from deployments_app.services.deployments import ActionOutcome, environment_clear


class Command(ActionCommand):
    help = (
        "Deploy nothing to ENV: its functions and assets answer 404 afterwards. Audited, via "
        "cli. Exits 0 when cleared, 1 when refused, 3 when ENV is protected and the request "
        "awaits approval."
    )

    def add_action_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--confirm",
            default="",
            metavar="ENV_NAME",
            help="The environment's unique name again, as the dashboard asks it to be typed",
        )

    def perform(self, call: ActionCall) -> ActionOutcome:
        return environment_clear(
            actor=call.actor,
            service_sid=call.service.sid,
            environment_sid=call.environments[0].sid,
            confirmation=call.options["confirm"],
            reason=call.options["reason"],
            via="cli",
        )
