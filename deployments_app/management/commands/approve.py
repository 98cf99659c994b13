"""`manage.py approve ID --as USER [--comment TEXT]`: the Approve button on a request.

The last approval a request needs executes it at once, as on the page. Exits 0 when it
deployed, 3 while it still awaits approvals (or needs them again: its plan changed),
1 when the approval was refused or the deployment failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.management.resolve import (
    AWAITING_APPROVAL,
    add_actor_argument,
    add_request_argument,
    awaiting_approval,
    one_line,
    run_decision,
    user_named,
)
from deployments_app.models import PromotionRequest
from deployments_app.services import approvals, requests

Status = PromotionRequest.Status


class Command(BaseCommand):
    help = (
        "Approve request ID; its last approval deploys it. Audited, via cli. Exits 0 when "
        "deployed, 1 when refused or the deployment failed, 3 while it awaits more approvals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_request_argument(parser)
        add_actor_argument(parser)
        parser.add_argument(
            "--comment", default="", metavar="TEXT", help="For the requester and the audit trail"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        request_id = options["request_id"]
        outcome = run_decision(
            request_id,
            lambda: approvals.request_approve(
                request_id=request_id, actor=actor, comment=options["comment"], via="cli"
            ),
        )
        request, message = outcome.request, one_line(outcome.message)
        if request.status in (Status.EXECUTED, Status.EXECUTING):
            self.stdout.write(self.style.SUCCESS(message))
            return
        if request.status == Status.OPEN:
            self.stdout.write(self.style.WARNING(f"{message} {awaiting_approval(request)}"))
            raise SystemExit(AWAITING_APPROVAL)
        # Approved, but it did not deploy (an approver may retry it on its page), or it
        # was decided otherwise meanwhile.
        raise CommandError(f"{message} Request #{request.pk}: {requests.request_url(request)}")
