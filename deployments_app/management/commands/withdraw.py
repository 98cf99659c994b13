"""`manage.py withdraw ID --as USER`: the requester takes their request back."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deployments_app.management.resolve import (
    add_actor_argument,
    add_request_argument,
    one_line,
    run_decision,
    user_named,
)
from deployments_app.services import approvals


class Command(BaseCommand):
    help = "Withdraw request ID (only its requester can). Audited, via cli."

    def add_arguments(self, parser: CommandParser) -> None:
        add_request_argument(parser)
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        request_id = options["request_id"]
        outcome = run_decision(
            request_id,
            lambda: approvals.request_withdraw(request_id=request_id, actor=actor, via="cli"),
        )
        self.stdout.write(self.style.SUCCESS(one_line(outcome.message)))
