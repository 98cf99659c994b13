"""Upstream reads for the pages, through Django's cache: the one place pages are cached.

Two lifetimes. What is live where (the service list, environment lists, histories, a
history's first page) is kept for `DASHBOARD_LIVE_CACHE_SECONDS`. What never changes is
kept for `DASHBOARD_IMMUTABLE_CACHE_SECONDS`: completed and failed builds, and the facts an
environment's history gives about its live build (live since, the build before, the builds
it ran), stored with the environment state they were computed for and used only while it
still holds.

Never stale after our own writes: every deployment the dashboard makes, from any worker or
the CLI, forgets exactly the entries it changed (`forget_environment`, called by
services/deployments.py around its one POST). The Refresh button forgets the account's
live entries at once (`forget_account`: a new generation in every live key). Concurrent
identical cold reads in one process share one upstream call (single-flight).

Actions never read through here: they read Twilio fresh, and so do the dialogs'
environments (what is confirmed is what is live now).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import OperationalError, ProgrammingError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from deployments_app.models import PageEpoch
from deployments_app.services.history import builds_ran, live_since_and_previous
from deployments_app.services.serverless import ServerlessClient
from deployments_app.services.serverless_errors import ServerlessError
from deployments_app.services.serverless_types import (
    BUILD_BUILDING,
    Build,
    Deployment,
    Environment,
    Page,
    Service,
)
from deployments_app.services.soft_cache import cache

__all__ = [
    "LiveDetails",
    "LiveFacts",
    "PageReads",
    "forget_account",
    "forget_environment",
    "records_written",
    "rendered",
    "watch_record_writes",
]

T = TypeVar("T")
logger = logging.getLogger(__name__)
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class _Stamped(Generic[T]):
    """A cached live value and when it was read from Twilio (the page's "as of")."""

    value: T
    read_at: datetime
    epoch: int = 0  # its scope's write epoch before the read (see forget_environment)


@dataclass(frozen=True)
class LiveFacts:
    """What an environment's history says about its live build, for one environment state."""

    state: tuple[str, str]  # (build_sid, date_updated) when computed
    live: Deployment | None
    previous_build_sid: str | None
    # Every build it ran, newest first, each once: which way a promotion into it goes
    # when the builds' dates cannot tell (history.promotion_direction). At most one SID
    # per build of the service; facts kept before this field existed read it as ().
    ran: tuple[str, ...] = ()

    @staticmethod
    def state_of(environment: Environment) -> tuple[str, str]:
        updated = environment.date_updated.isoformat() if environment.date_updated else ""
        return (environment.build_sid or "", updated)


@dataclass(frozen=True)
class LiveDetails:
    """What the overview shows beyond the environment lists (see PageReads.live_details)."""

    facts: dict[str, LiveFacts | ServerlessError]  # by environment SID
    builds: dict[str, dict[str, Build] | ServerlessError]  # by service SID, then build SID


def _live_seconds() -> int:
    return int(settings.DASHBOARD_LIVE_CACHE_SECONDS)


def _immutable_seconds() -> int:
    return int(settings.DASHBOARD_IMMUTABLE_CACHE_SECONDS)


def _account(client: ServerlessClient) -> str:
    # Keys name the account (and the API base) so that several accounts can share a cache.
    config = client.config
    seed = f"{config.base_url}|{config.account_sid or ''}".encode()
    return f"sv{SCHEMA}:" + hashlib.sha256(seed).hexdigest()[:16]


# --- single-flight ---------------------------------------------------------------------------

_flights: dict[str, Future[Any]] = {}
_flights_lock = threading.Lock()


def _single_flight(key: str, read: Callable[[], T]) -> T:
    """read(), unless the same key is being read in this process: then wait for its result."""
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if flight is None:
            flight = _flights[key] = Future()
    if not leader:
        return cast("T", flight.result())
    try:
        value = read()
    except BaseException as exc:
        flight.set_exception(exc)
        raise
    else:
        flight.set_result(value)
        return value
    finally:
        with _flights_lock:
            _flights.pop(key, None)


# --- invalidation ----------------------------------------------------------------------------
#
# Each live entry is stamped with the write epoch of its scope (a service for its
# environment list, an environment for its history and first pages) as it was *before* the
# read began, and is used only while that epoch is current. A write bumps the epochs of
# what it changed, so an entry read before the write, even one stored after it by a slow
# concurrent read, is never served again; nothing else is touched. Epochs are rows
# (PageEpoch): every process sees a committed write at once, whatever the cache backend.

# Bumped whenever a cached value's shape changes (LiveFacts, _Stamped, ...): a shared Redis
# then holds the old shapes under keys the new code never reads.
SCHEMA = 2
RENDERED_SECONDS = 120  # a rendered fragment's key names its minute: no use after that
ACCOUNT = "account"  # the Refresh button's scope: every live entry
RECORDS = "records"  # bumped after every commit that wrote the dashboard's own records


def _scope(account: str, name: str) -> str:
    return f"{account}:{name}"


def _bump(*scopes: str, using: str = "default") -> None:
    """Add one to each scope's epoch (a new row starts at 1).

    Plain SQL with no transaction of its own: `records_written` runs it while the
    statement that wrote may still be read (an INSERT ... RETURNING), where a commit of
    its own would fail.
    """
    table = connections[using].ops.quote_name(_EPOCH_TABLE)
    with connections[using].cursor() as cursor:
        for scope in scopes:
            cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE scope = %s", [scope])  # noqa: S608
            if cursor.rowcount == 0:
                cursor.execute(
                    f"INSERT INTO {table} (scope, value) VALUES (%s, 1) ON CONFLICT DO NOTHING",  # noqa: S608
                    [scope],
                )


def forget_environment(client: ServerlessClient, *, service_sid: str, environment_sid: str) -> None:
    """A deployment was attempted here: forget what it may have changed, and nothing else.

    The service's environment list (its live build SIDs) and this environment's history
    and first pages. Its live facts are keyed by its state, so they lapse on their own;
    other environments, the service list and the builds are untouched.
    """
    account = _account(client)
    _bump(_scope(account, service_sid), _scope(account, environment_sid))


def forget_account(client: ServerlessClient) -> None:
    """The Refresh button: every live entry of the account is read again on next use."""
    _bump(_scope(_account(client), ACCOUNT))


def records_written(using: str = "default") -> None:
    """A commit wrote our records (audit, states, policies, requests): rendered pages lapse."""
    try:
        _bump(RECORDS, using=using)
    except (OperationalError, ProgrammingError):
        # Before migrate has made the table (the earlier migrations write rows too).
        logger.debug("No page epochs table yet", exc_info=True)


# Writes this process made to our records, counted at once (other processes see the
# committed bump of RECORDS; this one must not wait for a commit its own view may be in).
_local_writes = 0
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_RECORD_TABLES = ("deployments_app_", "auth_group")  # policies name approver groups
_EPOCH_TABLE = PageEpoch._meta.db_table


def _watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    if any(t in sql for t in _RECORD_TABLES) and _EPOCH_TABLE not in sql and _WRITE.match(sql):
        global _local_writes
        _local_writes += 1
        connection = context["connection"]
        if not connection.in_atomic_block:
            records_written(connection.alias)  # autocommit: the write is committed already
        elif not any(cb is _records_committed for _, cb, *_ in connection.run_on_commit):
            # After the commit, outside the transaction: no lock held across its writes.
            transaction.on_commit(_records_committed, using=connection.alias, robust=True)
    return result


def _records_committed() -> None:
    records_written()


def watch_record_writes(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created: count every write to our tables (ORM, update(), bulk, raw SQL)."""
    if _watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch_writes)


def rendered(key: str | None, render: Callable[[], tuple[str, bool]]) -> str:
    """A page fragment's HTML, kept under `key` (None: never kept) while render says so."""
    if key is not None:
        found = cache.get(key)
        if isinstance(found, str):
            return found
    html, keep = render()
    if key is not None and keep:
        # Keyed by what it shows (and the minute), so it outlives the lists' lifetime.
        cache.set(key, html, timeout=RENDERED_SECONDS)
    return html


def _load_epochs(scopes: Iterable[str]) -> dict[str, int]:
    wanted = list(scopes)
    found = dict(PageEpoch.objects.filter(scope__in=wanted).values_list("scope", "value"))
    return {scope: found.get(scope, 0) for scope in wanted}


def _facts_key(account: str, environment_sid: str) -> str:
    return f"{account}:facts:{environment_sid}"


def _build_key(account: str, service_sid: str, build_sid: str) -> str:
    return f"{account}:build:{service_sid}:{build_sid}"


# --- reads -----------------------------------------------------------------------------------


class PageReads:
    """The reads of one page render: cached, with the oldest live read kept as "as of"."""

    def __init__(self, client: ServerlessClient) -> None:
        self.client = client
        self._account = _account(client)
        # Epochs are read from the database in the thread that made this object only:
        # the pool's threads use what it preloaded (see `preload`).
        self._home = threading.get_ident()
        self._epochs = _load_epochs([_scope(self._account, ACCOUNT), RECORDS])
        # What our records were at, before this page read any of them.
        self.records_version = f"{self._epochs[RECORDS]}.{_local_writes}"
        self._prefix = f"{self._account}:g{self._epochs[_scope(self._account, ACCOUNT)]}"
        self.as_of: datetime | None = None
        self._as_of_lock = threading.Lock()

    def preload(self, sids: Iterable[str]) -> None:
        """Read the write epochs of these services or environments (one query)."""
        missing = {_scope(self._account, sid) for sid in sids} - self._epochs.keys()
        if missing:
            self._epochs.update(_load_epochs(missing))

    def _epoch(self, sid: str) -> int | None:
        """A scope's epoch; None when unknown here (a pool thread cannot ask the database)."""
        scope = _scope(self._account, sid)
        if scope not in self._epochs and threading.get_ident() == self._home:
            self.preload([sid])
        return self._epochs.get(scope)

    def _saw(self, read_at: datetime) -> None:
        with self._as_of_lock:  # reads run on the client's pool threads
            if self.as_of is None or read_at < self.as_of:
                self.as_of = read_at

    def _live(self, key: str, scope: str | None, read: Callable[[], T]) -> T:
        """One live value: cached while its scope's epoch holds, or read once and cached."""
        found = self._live_many({key: key}, {key: scope}, lambda _: read(), raise_errors=True)
        return cast("T", found[key])

    def _live_many(
        self,
        keys: Mapping[str, str],
        scopes: Mapping[str, str | None],
        read: Callable[[str], T],
        *,
        raise_errors: bool = False,
    ) -> dict[str, T | ServerlessError]:
        """Live values by item (item -> key): one cache round, the misses read concurrently.

        Concurrent identical misses in this process share one read (single-flight).
        """
        if threading.get_ident() == self._home:
            self.preload(scope for scope in scopes.values() if scope is not None)
        epochs = {item: self._epoch(scope) if scope else 0 for item, scope in scopes.items()}
        found = cache.get_many(list(keys.values())) if keys else {}
        results: dict[str, T | ServerlessError] = {}
        for item, key in keys.items():
            stamped = found.get(key)
            epoch = epochs[item]
            if isinstance(stamped, _Stamped) and epoch is not None and stamped.epoch == epoch:
                self._saw(stamped.read_at)
                results[item] = stamped.value

        def read_and_keep(item: str) -> T:
            epoch = epochs[item]
            if epoch is None:  # cannot tell what is current: read, and keep nothing
                value = read(item)
                self._saw(timezone.now())
                return value

            def once() -> _Stamped[T]:
                stamped = _Stamped(read(item), timezone.now(), epoch)
                cache.set(keys[item], stamped, timeout=_live_seconds())
                return stamped

            stamped = _single_flight(f"{keys[item]}@{epoch}", once)
            self._saw(stamped.read_at)
            return stamped.value

        missing = [item for item in keys if item not in results]
        if raise_errors:
            results.update(zip(missing, self.client.read_many(read_and_keep, missing), strict=True))
        else:
            values = self.client.read_many(read_and_keep, missing, return_exceptions=True)
            results.update(zip(missing, values, strict=True))
        return results

    # --- services and environments

    def services(self) -> list[Service]:
        return self._live(f"{self._prefix}:services", None, self.client.service_list)

    def service(self, service_sid: str) -> Service:
        return self._live(
            f"{self._prefix}:service:{service_sid}",
            None,
            lambda: self.client.service_get(service=service_sid),
        )

    def environments(self, service_sid: str) -> list[Environment]:
        return self._live(
            self._environments_key(service_sid),
            service_sid,
            lambda: self.client.environment_list(service_sid=service_sid),
        )

    def _environments_key(self, service_sid: str) -> str:
        return f"{self._prefix}:environments:{service_sid}"

    def environments_of(
        self, service_sids: Sequence[str]
    ) -> dict[str, list[Environment] | ServerlessError]:
        """Several services' environment lists: one cache round, then ⌈misses/C⌉ RTT."""
        return self._live_many(
            {sid: self._environments_key(sid) for sid in service_sids},
            {sid: sid for sid in service_sids},
            lambda sid: self.client.environment_list(service_sid=sid),
        )

    def cached_services(self) -> list[Service] | None:
        """The service list if it is cached (no upstream call); None if not."""
        stamped = cache.get(f"{self._prefix}:services")
        return cast("list[Service]", stamped.value) if isinstance(stamped, _Stamped) else None

    def lists_fingerprint(self, service_sids: Sequence[str]) -> str | None:
        """What the service list and these environment lists say, as cached; None if any is not.

        Everything else a page shows follows from them (facts by state, finished builds)
        or from our records (`records_version`). By content, not by when they were read:
        lists read again and found unchanged give the same fingerprint.
        """
        keys = [f"{self._prefix}:services"] + [self._environments_key(s) for s in service_sids]
        self.preload(service_sids)
        found = cache.get_many(keys)
        digest = hashlib.sha256(f"{self._prefix}|{self.records_version}".encode())
        for key, scope in zip(keys, [None, *service_sids], strict=True):
            stamped = found.get(key)
            epoch = self._epoch(scope) if scope else 0
            if not isinstance(stamped, _Stamped) or stamped.epoch != epoch:
                return None
            self._saw(stamped.read_at)
            digest.update(repr(stamped.value).encode())
        return digest.hexdigest()

    # --- deployments

    def history(self, service_sid: str, environment_sid: str) -> list[Deployment]:
        """An environment's whole history (Twilio's order is undocumented: all of it)."""
        return self._live(
            self._history_key(environment_sid),
            environment_sid,
            lambda: self._read_history(service_sid, environment_sid),
        )

    def _history_key(self, environment_sid: str) -> str:
        return f"{self._prefix}:history:{environment_sid}"

    def _read_history(self, service_sid: str, environment_sid: str) -> list[Deployment]:
        return list(
            self.client.deployment_iter(
                service_sid=service_sid, environment_sid=environment_sid, page_size=MAX_PAGE_SIZE
            )
        )

    def first_page(
        self, service_sid: str, environment_sid: str, page_size: int
    ) -> Page[Deployment]:
        """A history's first page; later pages ("Load more") are one call each, never cached."""
        return self._live(
            f"{self._prefix}:first-page:{environment_sid}:{page_size}",
            environment_sid,
            lambda: self.client.deployment_page(
                service_sid=service_sid, environment_sid=environment_sid, page_size=page_size
            ),
        )

    def live_details(
        self,
        environments: Sequence[Environment],
        *,
        cached_only: bool = False,
        read_ahead: bool = False,
    ) -> LiveDetails:
        """Live facts per live environment and its services' live builds, in one round.

        From the cache: facts while the environment's state is the one they were computed
        for, finished builds always. The rest is read (histories and build lists together,
        ⌈n/C⌉ round trips) unless `cached_only`, and then it is missing from the answer;
        with `read_ahead` too, its reads start in the background, so that a request for it
        a moment later finds it cached or joins the read in flight.
        """
        live = [e for e in environments if e.build_sid]
        facts = self._cached_facts(live)
        wanted: dict[str, set[str]] = {}
        for env in live:
            wanted.setdefault(env.service_sid or "", set()).add(env.build_sid or "")
        builds: dict[str, dict[str, Build] | ServerlessError] = dict(self._cached_builds(wanted))
        if cached_only and not read_ahead:
            return LiveDetails(facts, builds)
        # One round: the histories of environments without facts, and the build lists of
        # services missing a live build.
        tasks: list[Environment | str] = [env for env in live if env.sid not in facts]
        self.preload(env.sid for env in live if env.sid not in facts)
        tasks += [
            sid
            for sid, sids in wanted.items()
            if sids - cast("dict[str, Build]", builds[sid]).keys()
        ]

        def run(item: Environment | str) -> object:
            if isinstance(item, Environment):
                return self._compute_facts(item)
            return self.builds(item, wanted[item])

        if cached_only:
            self.client.read_in_background(run, tasks)
            return LiveDetails(facts, builds)
        for item, result in zip(
            tasks, self.client.read_many(run, tasks, return_exceptions=True), strict=True
        ):
            if isinstance(item, Environment):
                facts[item.sid] = cast("LiveFacts | ServerlessError", result)
            else:
                builds[item] = cast("dict[str, Build] | ServerlessError", result)
        return LiveDetails(facts, builds)

    def _cached_facts(self, live: Sequence[Environment]) -> dict[str, LiveFacts | ServerlessError]:
        keys = {e.sid: _facts_key(self._account, e.sid) for e in live}
        found = cache.get_many(list(keys.values())) if keys else {}
        results: dict[str, LiveFacts | ServerlessError] = {}
        for env in live:
            facts = found.get(keys[env.sid])
            if isinstance(facts, LiveFacts) and facts.state == LiveFacts.state_of(env):
                results[env.sid] = facts
        return results

    def _compute_facts(self, env: Environment) -> LiveFacts:
        """Facts from the history: a cached one if current, else read (and not kept).

        The overview needs only the facts; keeping each history of hundreds of
        deployments as well would cost a pickling per environment on the cold path.
        Identical computations in this process share one read (read-ahead and a row).
        """
        state = LiveFacts.state_of(env)
        key = _facts_key(self._account, env.sid)

        def compute() -> LiveFacts:
            done = cache.get(key)  # computed while this task waited for a pool thread
            if isinstance(done, LiveFacts) and done.state == state:
                return done
            service_sid = env.service_sid or ""
            history = self._cached_history(env.sid) or []
            found = live_since_and_previous(history, env.build_sid)
            if found[0] is None:  # none cached, or older than this environment list
                history = self._read_history(service_sid, env.sid)
                found = live_since_and_previous(history, env.build_sid)
            facts = LiveFacts(state, *found, ran=builds_ran(history))
            if facts.live is not None:  # else Twilio's history lacks it: do not keep that
                cache.set(key, facts, timeout=_immutable_seconds())
            return facts

        return _single_flight(f"{key}@{state}", compute)

    def _cached_history(self, environment_sid: str) -> list[Deployment] | None:
        """The environment's history if cached and current (no read)."""
        stamped = cache.get(self._history_key(environment_sid))
        epoch = self._epoch(environment_sid)
        if isinstance(stamped, _Stamped) and epoch is not None and stamped.epoch == epoch:
            return cast("list[Deployment]", stamped.value)
        return None

    # --- builds

    def builds(
        self, service_sid: str, build_sids: Iterable[str], *, cached_only: bool = False
    ) -> dict[str, Build]:
        """The builds named, from the cache when known; completed and failed ones never change.

        A miss reads the service's whole build list once (cheaper than a read per build)
        and keeps every finished build in it, so paging a history costs no build reads.
        """
        wanted = {sid for sid in build_sids if sid}
        keys = {sid: _build_key(self._account, service_sid, sid) for sid in wanted}
        cached = cache.get_many(list(keys.values())) if keys else {}
        found = {sid: cached[key] for sid, key in keys.items() if key in cached}
        if cached_only or not wanted - found.keys():
            return found
        listed = _single_flight(
            f"{self._account}:build-list:{service_sid}",
            lambda: list(self.client.build_iter(service_sid=service_sid, page_size=MAX_PAGE_SIZE)),
        )
        cache.set_many(
            {
                _build_key(self._account, service_sid, b.sid): b
                for b in listed
                if b.status != BUILD_BUILDING
            },
            timeout=_immutable_seconds(),
        )
        found.update({b.sid: b for b in listed if b.sid in wanted})
        return found

    def build(self, service_sid: str, build_sid: str) -> Build:
        """One build: cached once finished; a build still building is read every time."""
        key = _build_key(self._account, service_sid, build_sid)
        found = cache.get(key)
        if isinstance(found, Build):
            return found
        build = self.client.build_get(service_sid=service_sid, build_sid=build_sid)
        if build.status != BUILD_BUILDING:
            cache.set(key, build, timeout=_immutable_seconds())
        return build

    def _cached_builds(self, wanted: Mapping[str, set[str]]) -> dict[str, dict[str, Build]]:
        """Finished builds already cached, for several services in one cache round."""
        keys = {
            (service_sid, sid): _build_key(self._account, service_sid, sid)
            for service_sid, sids in wanted.items()
            for sid in sids
        }
        found = cache.get_many(list(keys.values())) if keys else {}
        builds: dict[str, dict[str, Build]] = {service_sid: {} for service_sid in wanted}
        for (service_sid, sid), key in keys.items():
            if key in found:
                builds[service_sid][sid] = found[key]
        return builds
