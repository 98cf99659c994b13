"""`manage.py clear_environment SERVICE ENV --as USER --confirm ENV_NAME`: the Clear button."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deployments_app.management.resolve import (
    add_actor_argument,
    run_action,
    service_and_environments,
    user_named,
)
from deployments_app.services.deployments import environment_clear


class Command(BaseCommand):
    help = (
        "Deploy nothing to ENV: its functions and assets answer 404 afterwards. Audited, via cli."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        parser.add_argument("environment", help="Environment SID or unique name")
        add_actor_argument(parser)
        parser.add_argument(
            "--confirm",
            default="",
            metavar="ENV_NAME",
            help="The environment's unique name again, as the dashboard asks it to be typed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        service, (environment,) = service_and_environments(
            options["service"], [options["environment"]]
        )
        message = run_action(
            lambda: environment_clear(
                actor=actor,
                service_sid=service.sid,
                environment_sid=environment.sid,
                confirmation=options["confirm"],
                client_ip=None,
                via="cli",
            )
        )
        self.stdout.write(self.style.SUCCESS(message))
