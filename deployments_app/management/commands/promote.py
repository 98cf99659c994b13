"""`manage.py promote SERVICE SOURCE_ENV TARGET_ENV --as USER [--reason TEXT]`: the Promote
button, from a shell. Into a protected environment it makes the request and exits 3."""

from __future__ import annotations

from deployments_app.management.resolve import ActionCall, ActionCommand
from deployments_app.services.deployments import ActionOutcome, deployment_promote


class Command(ActionCommand):
    help = (
        "Deploy the build live in SOURCE_ENV to TARGET_ENV. Audited, via cli. Exits 0 when "
        "deployed, 1 when refused, 3 when TARGET_ENV is protected and the request awaits approval."
    )
    environment_arguments = (
        ("source_environment", "Environment SID or unique name"),
        ("target_environment", "Environment SID or unique name"),
    )

    def perform(self, call: ActionCall) -> ActionOutcome:
        source, target = call.environments
        return deployment_promote(
            actor=call.actor,
            service_sid=call.service.sid,
            source_environment_sid=source.sid,
            target_environment_sid=target.sid,
            reason=call.options["reason"],
            via="cli",
        )
