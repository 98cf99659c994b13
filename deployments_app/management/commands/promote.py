"""`manage.py promote SERVICE SOURCE_ENV TARGET_ENV --as USER`: the Promote button, from a shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deployments_app.management.resolve import (
    add_actor_argument,
    run_action,
    service_and_environments,
    user_named,
)
from deployments_app.services.deployments import deployment_promote


class Command(BaseCommand):
    help = "Deploy the build live in SOURCE_ENV to TARGET_ENV. Audited, via cli."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        parser.add_argument("source_environment", help="Environment SID or unique name")
        parser.add_argument("target_environment", help="Environment SID or unique name")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        service, (source, target) = service_and_environments(
            options["service"], [options["source_environment"], options["target_environment"]]
        )
        message = run_action(
            lambda: deployment_promote(
                actor=actor,
                service_sid=service.sid,
                source_environment_sid=source.sid,
                target_environment_sid=target.sid,
                client_ip=None,
                via="cli",
            )
        )
        self.stdout.write(self.style.SUCCESS(message))
