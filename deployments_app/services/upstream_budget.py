"""A page's total time for Twilio: however many reads it makes, it answers in bounded time.

Each read has the client's read timeout, but a page makes several reads one after another
(services, then environments, then histories), so a slow Twilio could hold it for a
multiple of that. A page view runs inside `page_budget(seconds)`; the client gives each
read only what is left of it, and refuses to start one once it is spent. The deadline is a
context variable, so reads on the client's pool (which run in a copy of the caller's
context) share their page's budget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from .serverless_errors import UpstreamUnavailable

# (deadline on the monotonic clock, the budget in seconds) of the page being served.
_budget: ContextVar[tuple[float, float] | None] = ContextVar("upstream_budget", default=None)


@contextlib.contextmanager
def page_budget(seconds: float) -> Iterator[None]:
    """Bound the upstream time of everything run inside (and on the pool for it)."""
    token = _budget.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def remaining() -> float | None:
    """Seconds left of the current page's budget; None outside a page."""
    budget = _budget.get()
    return None if budget is None else budget[0] - time.monotonic()


class BudgetSpent(UpstreamUnavailable):
    """The page's upstream budget ran out before its reads were done."""

    @property
    def user_message(self) -> str:
        return self.message


def spent(*, method: str, path: str, attempts: int) -> BudgetSpent:
    budget = _budget.get()
    seconds = f" after {budget[1]:g} s" if budget else ""
    return BudgetSpent(
        f"Twilio is answering too slowly: this page stopped waiting{seconds}. "
        "Try again in a moment.",
        method=method,
        path=path,
        attempts=attempts,
        detail="the page's upstream time budget was spent",
    )
