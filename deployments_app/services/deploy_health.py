"""Reads of an environment's logs: the logs page, and the error counts after a deploy.

Both read `GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Logs` through the
client, with its StartDate/EndDate (and FunctionSid) filters.

- `deploy_health`: error-level logs from a deploy until now, beside the number in an
  equal window before it: two date-filtered reads, each paged until done but bounded
  (`MAX_HEALTH_PAGES`): a window with more logs is counted as "at least".
  `deploy_health_cached` keeps the answer for the live lifetime, keyed by environment
  and deploy time.
- `environment_logs` / `environment_log_rows`: the logs page, one upstream Logs call
  per page (the cursor carries the window and the function filter).

The spec's Logs endpoint has no level filter, so the level is filtered here, on the
items of each page (see `_rows`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from django.conf import settings
from django.utils import timezone

from deployments_app.services import page_cache
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import NotFound
from deployments_app.services.serverless_types import Environment, Function, Log, Page, Service
from deployments_app.services.soft_cache import cache

__all__ = [
    "LEVELS",
    "DeployHealth",
    "EnvironmentLogs",
    "LogRow",
    "LogRows",
    "deploy_health",
    "deploy_health_cached",
    "environment_log_rows",
    "environment_logs",
    "service_functions",
]

# The levels Twilio's Functions log at (console.log/info, console.warn, console.error).
LEVELS = ("info", "warn", "error")
ERROR = "error"

# Counting reads the biggest pages the API gives, and at most this many per window.
HEALTH_PAGE_SIZE = 1000
MAX_HEALTH_PAGES = 5

# The logs page: rows per upstream page. With a level filter a page is read wider, so
# that one call per "Load more" still finds a useful number of the rarer levels.
LOG_PAGE_SIZE = 50
LEVEL_FILTERED_PAGE_SIZE = 200

_SECOND = timedelta(seconds=1)
_EPOCH = datetime.fromtimestamp(0, UTC)


def _client(client: ServerlessClient | None) -> ServerlessClient:
    return client if client is not None else get_client()


def _account_key(client: ServerlessClient) -> str:
    # Keys name the account and API base, as page_cache's do: accounts may share a cache.
    config = client.config
    seed = f"{config.base_url}|{config.account_sid or ''}".encode()
    return hashlib.sha256(seed).hexdigest()[:16]


def _live_seconds() -> int:
    return int(settings.DASHBOARD_LIVE_CACHE_SECONDS)


# --- error counts after a deploy -------------------------------------------------------------


@dataclass(frozen=True)
class DeployHealth:
    """Error-level logs since a deploy, and in an equal window just before it."""

    since: datetime
    window: timedelta
    errors_after: int
    errors_before: int
    rising: bool
    # The window had more pages than were read: its count is a lower bound ("at least").
    after_is_lower_bound: bool = False
    before_is_lower_bound: bool = False
    checked_at: datetime | None = None

    @property
    def window_label(self) -> str:
        """The window as people say it: "45 s", "20 min", "3 h", "2 days"."""
        seconds = round(self.window.total_seconds())
        if seconds < 120:
            return f"{seconds} s"
        if seconds < 2 * 3600:
            return f"{round(seconds / 60)} min"
        if seconds < 2 * 86400:
            return f"{round(seconds / 3600)} h"
        return f"{round(seconds / 86400)} days"


def count_errors(
    client: ServerlessClient,
    *,
    service_sid: str,
    environment_sid: str,
    start: datetime,
    end: datetime,
    max_pages: int,
) -> tuple[int, bool]:
    """Error-level logs in [start, end]: (count, whether pages were left unread)."""
    errors = 0
    cursor: str | None = None
    for _ in range(max_pages):
        page = client.log_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            start_date=start,
            end_date=end,
            page_size=HEALTH_PAGE_SIZE,
            cursor=cursor,
        )
        errors += sum(1 for log in page.items if (log.level or "").lower() == ERROR)
        cursor = page.next_cursor
        if cursor is None:
            return errors, False
    return errors, True


def deploy_health(
    *,
    service_sid: str,
    environment_sid: str,
    since: datetime,
    client: ServerlessClient | None = None,
    now: datetime | None = None,
    max_pages: int = MAX_HEALTH_PAGES,
) -> DeployHealth:
    """Error-level logs from `since` (a deploy) to now, and in the equal window before.

    The two windows are read concurrently, each paged until done or `max_pages`.
    Rising means more errors since the deploy than before it, and is only claimed when
    the count before is exact (a lower bound before proves nothing).
    """
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    client = _client(client)
    # Twilio's dates are whole seconds (and so are the filters the client sends).
    since = since.replace(microsecond=0)
    now = (now or timezone.now()).replace(microsecond=0)
    if since > now:
        raise ValueError("since is in the future")
    window = max(now - since, _SECOND)
    # Both filters are inclusive: the window before ends a second before the deploy, so
    # a log at the deploy's second is counted once, after it.
    windows = [(since, since + window), (since - window, since - _SECOND)]

    def count(bounds: tuple[datetime, datetime]) -> tuple[int, bool]:
        return count_errors(
            client,
            service_sid=service_sid,
            environment_sid=environment_sid,
            start=bounds[0],
            end=bounds[1],
            max_pages=max_pages,
        )

    (after, after_more), (before, before_more) = client.read_many(count, windows)
    return DeployHealth(
        since=since,
        window=window,
        errors_after=after,
        errors_before=before,
        rising=after > before and not before_more,
        after_is_lower_bound=after_more,
        before_is_lower_bound=before_more,
        checked_at=now,
    )


def deploy_health_cached(
    *,
    service_sid: str,
    environment_sid: str,
    since: datetime,
    client: ServerlessClient | None = None,
) -> DeployHealth:
    """`deploy_health`, kept per environment and deploy time: for the live lifetime, and
    for a tenth of the time since the deploy when that is shorter (at least 2 s), so the
    first minutes after a deploy, when errors matter most, are counted again soon.

    A new deploy has a new time, so it never finds the previous deploy's counts.
    """
    client = _client(client)
    stamp = int(since.timestamp())
    key = f"deploy-health:{_account_key(client)}:{environment_sid}:{stamp}"
    found = cache.get(key)
    if isinstance(found, DeployHealth):
        return found
    health = deploy_health(
        service_sid=service_sid, environment_sid=environment_sid, since=since, client=client
    )
    age = ((health.checked_at or timezone.now()) - health.since).total_seconds()
    cache.set(key, health, timeout=min(_live_seconds(), max(2, int(age / 10))))
    return health


# --- the logs page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    log: Log
    # The function's friendly name, when the service's function list is known.
    function_name: str | None = None


@dataclass(frozen=True)
class LogRows:
    """One upstream page of logs, level-filtered here."""

    rows: tuple[LogRow, ...]
    next_cursor: str | None
    # Logs the upstream page held, before the level filter.
    scanned: int


@dataclass(frozen=True)
class EnvironmentLogs:
    service: Service
    environment: Environment
    page: LogRows
    start: datetime
    end: datetime
    as_of: datetime


def service_functions(
    *, service_sid: str, client: ServerlessClient | None = None, cached_only: bool = False
) -> tuple[Function, ...] | None:
    """A service's functions (the logs page's function filter), kept for the live lifetime.

    With `cached_only`, None when they are not cached (no upstream call): "Load more"
    costs exactly its one Logs call.
    """
    client = _client(client)
    key = f"service-functions:{_account_key(client)}:{service_sid}"
    found = cache.get(key)
    if isinstance(found, tuple):
        return cast("tuple[Function, ...]", found)
    if cached_only:
        return None
    functions = tuple(client.function_list(service_sid=service_sid))
    cache.set(key, functions, timeout=_live_seconds())
    return functions


def _rows(page: Page[Log], level: str | None, functions: Sequence[Function] | None) -> LogRows:
    # The Logs endpoint has no level filter (the spec offers FunctionSid, StartDate and
    # EndDate only), so the level is applied to this page's items: still one upstream
    # call per page, and a page may show fewer rows than it read, or none.
    names = {f.sid: f.friendly_name for f in functions or ()}
    kept = [log for log in page.items if level is None or (log.level or "").lower() == level]
    # The spec does not say in which order logs are listed; Twilio (and the emulator)
    # list them newest first, and each page is sorted so that it never shows otherwise.
    kept.sort(key=lambda log: log.date_created or _EPOCH, reverse=True)
    return LogRows(
        rows=tuple(LogRow(log, names.get(log.function_sid or "")) for log in kept),
        next_cursor=page.next_cursor,
        scanned=len(page.items),
    )


def _page_size(level: str | None) -> int:
    return LOG_PAGE_SIZE if level is None else LEVEL_FILTERED_PAGE_SIZE


def environment_log_rows(
    *,
    service_sid: str,
    environment_sid: str,
    cursor: str,
    level: str | None = None,
    functions: Sequence[Function] | None = None,
    client: ServerlessClient | None = None,
) -> LogRows:
    """The next page of logs ("Load more"): exactly one upstream Logs call.

    The cursor carries the window, the function filter and the page size it was made with.
    """
    page = _client(client).log_page(
        service_sid=service_sid, environment_sid=environment_sid, cursor=cursor
    )
    return _rows(page, level, functions)


def environment_logs(
    *,
    service_sid: str,
    environment_sid: str,
    window: timedelta,
    level: str | None = None,
    function_sid: str | None = None,
    functions: Sequence[Function] | None = None,
    cursor: str | None = None,
    client: ServerlessClient | None = None,
) -> EnvironmentLogs:
    """An environment and one page of its logs from `window` ago until now, newest first.

    One round: the service and its environments (cached like every page's) beside the
    Logs call.
    """
    client = _client(client)
    reads = page_cache.PageReads(client)
    reads.preload([service_sid, environment_sid])
    end = timezone.now().replace(microsecond=0)
    start = end - window

    def read(what: str) -> object:
        if what == "service":
            return reads.service(service_sid)
        if what == "environments":
            return reads.environments(service_sid)
        return client.log_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            function_sid=function_sid,
            start_date=start,
            end_date=end,
            page_size=_page_size(level),
            cursor=cursor,
        )

    service, environments, page = client.read_many(read, ["service", "environments", "logs"])
    assert isinstance(service, Service)
    assert isinstance(environments, list)
    assert isinstance(page, Page)
    environment = next((e for e in environments if e.sid == environment_sid), None)
    if environment is None:
        raise NotFound("No such environment in this service", method="GET", path="")
    return EnvironmentLogs(
        service=service,
        environment=environment,
        page=_rows(page, level, functions),
        start=start,
        end=end,
        as_of=reads.as_of or end,
    )
