"""`manage.py promote SERVICE SOURCE_ENV TARGET_ENV --as USER`: the Promote button, from a shell."""

from __future__ import annotations

from deployments_app.management.resolve import ActionCall, ActionCommand
from deployments_app.services.deployments import ActionOutcome, deployment_promote


class Command(ActionCommand):
    help = "Deploy the build live in SOURCE_ENV to TARGET_ENV. Audited, via cli."
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
            via="cli",
        )
