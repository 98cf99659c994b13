"""`manage.py reject ID --as USER --comment TEXT`: the Reject button on a request."""

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
    help = "Reject request ID, saying why; one rejection ends it. Audited, via cli."

    def add_arguments(self, parser: CommandParser) -> None:
        add_request_argument(parser)
        add_actor_argument(parser)
        # Not required by the parser: the service refuses an empty one, and audits that.
        parser.add_argument(
            "--comment", default="", metavar="TEXT", help="Why (required; the requester is told)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        request_id = options["request_id"]
        outcome = run_decision(
            request_id,
            lambda: approvals.request_reject(
                request_id=request_id, actor=actor, comment=options["comment"], via="cli"
            ),
        )
        self.stdout.write(self.style.SUCCESS(one_line(outcome.message)))
