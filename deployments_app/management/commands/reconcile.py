"""`manage.py reconcile [SERVICE ...]`: bring the dashboard's records in step with Twilio.

Run it from cron (e.g. every minute) on any number of hosts at once: it is idempotent,
and concurrent runs record each outside change once. It records every deployment it
sees (so a clear made outside the dashboard cannot erase the history), settles actions
whose worker died, records changes made outside the dashboard in the audit log, and
expires approval requests past their lifetime. Exits 1 when part of the account could
not be read.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.services import approvals, reconcile
from deployments_app.services.serverless import get_client


class Command(BaseCommand):
    help = "Reconcile the dashboard's records with Twilio (every service, or those named)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("services", nargs="*", metavar="SERVICE", help="Service SIDs")

    def handle(self, *args: Any, **options: Any) -> None:
        # Database only: done first, so an unreadable account does not keep requests open.
        expired = approvals.requests_expire()
        client = get_client()
        if options["services"]:
            report = reconcile.services_reconcile(services=options["services"], client=client)
        else:
            report = reconcile.account_reconcile(client=client)
        line = report.summary()
        if expired:
            line += f" {expired} approval request(s) expired."
        if report.errors:
            raise CommandError(line)
        self.stdout.write(line)
