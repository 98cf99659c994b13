"""`manage.py rollback SERVICE ENV BUILD_SID --as USER [--reason TEXT]`: the Redeploy button."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deployments_app.management.resolve import (
    add_actor_argument,
    run_action,
    service_and_environments,
    user_named,
)
from deployments_app.services.deployments import deployment_redeploy


class Command(BaseCommand):
    help = "Redeploy an earlier, completed build from the history of ENV. Audited, via cli."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        parser.add_argument("environment", help="Environment SID or unique name")
        parser.add_argument("build_sid", help="The build to roll back to (ZB…)")
        add_actor_argument(parser)
        parser.add_argument("--reason", default="", help="Why, for the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        service, (environment,) = service_and_environments(
            options["service"], [options["environment"]]
        )
        message = run_action(
            lambda: deployment_redeploy(
                actor=actor,
                service_sid=service.sid,
                environment_sid=environment.sid,
                build_sid=options["build_sid"],
                reason=options["reason"],
                client_ip=None,
                via="cli",
            )
        )
        self.stdout.write(self.style.SUCCESS(message))
