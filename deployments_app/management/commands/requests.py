"""`manage.py requests [--open]`: the Approvals page, one line per request.

Columns: number, status, action, environment (service / name), build, requester, and
approvals given of required ("break-glass" for a deployment made without them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deployments_app import selectors
from deployments_app.models import PromotionRequest
from deployments_app.templatetags.dashboard_tags import short_sid


class Command(BaseCommand):
    help = (
        "List promotion requests: those awaiting a decision, break-glass deployments to "
        "review, and the 25 decided last (with --open, only those awaiting a decision)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--open",
            action="store_true",
            help="Only requests awaiting a decision (open, deploying, or failed and retryable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        page = selectors.approvals_page()
        shown = page.waiting if options["open"] else (*page.waiting, *page.to_ratify, *page.decided)
        if not shown:
            # On stderr: a script counting the lines counts none.
            self.stderr.write(
                "No requests awaiting a decision." if options["open"] else "No requests."
            )
            return
        for line in _table(_row(request) for request in shown):
            self.stdout.write(line)


def _row(request: PromotionRequest) -> tuple[str, ...]:
    given = getattr(request, "given", 0)
    approvals = "break-glass" if request.break_glass else f"{given}/{request.required_approvals}"
    return (
        f"#{request.pk}",
        request.shown_status_label,
        request.action,
        f"{request.service_name or request.service_sid} / {request.environment_name}",
        short_sid(request.build_sid) or "nothing",
        request.requester.get_username(),
        approvals,
    )


def _table(rows: Iterable[tuple[str, ...]]) -> list[str]:
    """Rows as lines, each column as wide as its widest cell."""
    rows = list(rows)
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
