"""Reads for the pages: everything a view shows comes from here.

Each selector turns upstream reads (through the service module) and our own records
(services/records.py) into plain, frozen view data. Selectors never write a row: keeping
the records in step with Twilio is services/reconcile.py's job. Upstream failures are
caught per service or per environment and carried as a message, so one unreadable
service never blanks the page. This is the one place a cache will wrap.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import (
    Approval,
    AuditEntry,
    DeploymentRecord,
    EnvironmentPolicy,
    PromotionRequest,
    ServicePipeline,
)
from deployments_app.models.approvals import standing_approvals
from deployments_app.pipeline import pipeline_order
from deployments_app.services import page_cache, policies, records
from deployments_app.services import soak as soak_rule
from deployments_app.services.history import (
    Direction,
    builds_behind,
    builds_ran,
    live_since_and_previous,
    promotion_direction,
)
from deployments_app.services.records import EnvironmentNote
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import NotFound, ServerlessError
from deployments_app.services.serverless_types import (
    BUILD_COMPLETED,
    BUILD_FAILED,
    Build,
    Deployment,
    Environment,
    Page,
    Service,
)

MAX_PAGE_SIZE = 1000
HISTORY_PAGE_SIZES = (25, 50, 100, 1000)
DEFAULT_HISTORY_PAGE_SIZE = 50


class Comparison(StrEnum):
    """How an environment's live build compares with the previous environment's.

    Read off which way promoting the previous environment's build here would move this
    one (history.promotion_direction): forward means this one is behind.
    """

    SAME = "same"
    AHEAD = "ahead"
    BEHIND = "behind"
    DIFFERENT = "different"


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnvironmentCell:
    """One environment of a service on the overview."""

    environment: Environment
    build: Build | None = None
    live_since: datetime | None = None
    # The build that was live before the current one: the rollback target.
    previous_build_sid: str | None = None
    deployed_by: str | None = None
    # Compared with the previous environment in the pipeline.
    comparison: Comparison | None = None
    compared_with: str | None = None
    # The environment after this one in the pipeline: where "Promote" sends the build,
    # and which way that moves it (backward: it runs a newer build than this one).
    next_environment: Environment | None = None
    promotion: Direction | None = None
    # How many builds the previous environment ran, newer than this one's, that this one
    # never ran: how far behind it is (None when it is not behind).
    behind_by: int | None = None
    # The next environment's soak time not yet run here: why Promote is not offered.
    soak: soak_rule.SoakWait | None = None
    # What our own records say: rolled back, cleared, or changed outside the dashboard.
    note: EnvironmentNote = field(default_factory=EnvironmentNote)
    # Its policy, freeze and requests: protected, frozen, awaiting approval, break-glass.
    gate: policies.Gate = field(default_factory=policies.Gate)
    error: str | None = None

    @property
    def can_be_promoted(self) -> bool:
        return bool(
            self.next_environment
            and self.build
            and self.build.status == BUILD_COMPLETED
            and self.next_environment.build_sid != self.build.sid
        )

    @property
    def watches_health(self) -> bool:
        """Deployed through the dashboard within the last day: the cell counts its errors."""
        return bool(
            self.deployed_by and self.live_since and timezone.now() - self.live_since < HEALTH_WATCH
        )

    @property
    def promotes_backward(self) -> bool:
        """Promoting would move the next environment back to an older build."""
        return self.can_be_promoted and self.promotion == Direction.BACKWARD

    @property
    def build_sid(self) -> str | None:
        return self.environment.build_sid

    @property
    def is_empty(self) -> bool:
        return not self.environment.build_sid


@dataclass(frozen=True)
class ServiceRow:
    service: Service
    cells: tuple[EnvironmentCell, ...] = ()
    error: str | None = None
    # Its details are not cached yet: the page shows what is live and loads the rest.
    pending: bool = False

    @property
    def next_promotion(self) -> EnvironmentCell | None:
        """The first environment whose build the next one lacks and would move forward to:
        the promotion the pipeline waits for. Never a backward one, one a soak holds, or one
        into an environment that was rolled back."""
        for cell, target in zip(self.cells, self.cells[1:], strict=False):
            # A rolled-back target was sent back on purpose: re-promoting is no suggestion.
            if target.note.rolled_back:
                continue
            if cell.can_be_promoted and cell.promotion == Direction.FORWARD and not cell.soak:
                return cell
        return None


@dataclass(frozen=True)
class Overview:
    rows: tuple[ServiceRow, ...]
    as_of: datetime
    total_services: int = 0
    error: str | None = None

    @property
    def shown(self) -> int:
        return len(self.rows)

    @property
    def is_complete(self) -> bool:
        """Every row loaded and nothing failed: worth keeping as rendered."""
        return not self.error and not any(row.pending or row.error for row in self.rows)


def _client() -> ServerlessClient:
    return get_client()


def _matches(service: Service, query: str) -> bool:
    if not query:
        return True
    haystack = f"{service.friendly_name or ''} {service.unique_name or ''} {service.sid}"
    return query.casefold() in haystack.casefold()


def _pipeline_overrides(service_sids: Sequence[str]) -> dict[str, list[str]]:
    pipelines = ServicePipeline.objects.filter(service_sid__in=service_sids)
    return {p.service_sid: p.order for p in pipelines}


# An environment compared with the one before it, by which way promoting that one's
# build here would go.
# How long after a deployment through the dashboard its cell keeps counting errors.
HEALTH_WATCH = timedelta(days=1)

_COMPARED = {
    Direction.SAME: Comparison.SAME,
    Direction.FORWARD: Comparison.BEHIND,
    Direction.BACKWARD: Comparison.AHEAD,
    Direction.UNKNOWN: Comparison.DIFFERENT,
}


def _created(builds: Mapping[str, Build]) -> dict[str, datetime | None]:
    return {sid: build.date_created for sid, build in builds.items()}


def overview(*, query: str = "") -> Overview:
    """Every service (all pages) with its environments in pipeline order and what is live.

    The first paint: the service list and every shown service's environment lists (from
    the cache when fresh), and each row's details (live since, builds, comparisons) only
    where they are cached. A row without them comes back `pending`: the page loads it with
    `overview_row`, so the page appears in 1 + ⌈S/C⌉ round trips whatever the account size.
    """
    reads = page_cache.PageReads(_client())
    now = timezone.now()
    try:
        services = reads.services()
    except ServerlessError as exc:
        return Overview(rows=(), as_of=now, error=exc.user_message)
    shown = [s for s in services if _matches(s, query)]
    environments = reads.environments_of([s.sid for s in shown])
    rows = _service_rows(reads, shown, environments, cached_only=True)
    return Overview(rows=rows, as_of=reads.as_of or now, total_services=len(services))


@dataclass(frozen=True)
class OverviewHead:
    """The overview's line above its rows, known without reading the rows."""

    as_of: datetime
    shown: int
    total_services: int
    error: str | None = None


@dataclass(frozen=True)
class OverviewKey:
    """What the overview's rendered rows are kept under, and the head to show above them."""

    key: str
    head: OverviewHead


def overview_key(*, query: str, viewer: str) -> OverviewKey | None:
    """What the rendered rows are kept under; None when a list they show is not cached.

    Its parts: what the cached lists say, our records' version, who looks (their
    buttons), the filter, and the minute ("5 minutes ago" and freeze windows move on).
    """
    reads = page_cache.PageReads(_client())
    services = reads.cached_services()
    if services is None:
        return None
    shown = [s.sid for s in services if _matches(s, query)]
    fingerprint = reads.lists_fingerprint(shown)
    if fingerprint is None or reads.as_of is None:
        return None
    minute = timezone.now().strftime("%Y%m%d%H%M")
    who = hashlib.sha256(f"{viewer}|{query}".encode()).hexdigest()[:16]
    return OverviewKey(
        key=f"overview-rows:{fingerprint}:{who}:{minute}",
        head=OverviewHead(as_of=reads.as_of, shown=len(shown), total_services=len(services)),
    )


def overview_lists(*, query: str) -> None:
    """Read the lists the overview's rows are keyed by into the cache (1 + ⌈S/C⌉ RTT).

    Found unchanged, the rows rendered before are used as they are. A failure is left
    for `overview` to read again and show.
    """
    reads = page_cache.PageReads(_client())
    try:
        services = reads.services()
    except ServerlessError:
        return
    reads.environments_of([s.sid for s in services if _matches(s, query)])


def overview_row(*, service_sid: str) -> ServiceRow:
    """One service's row of the overview, complete: one round trip for what is not cached."""
    reads = page_cache.PageReads(_client())
    service = next((s for s in reads.services() if s.sid == service_sid), None)
    if service is None:
        raise NotFound("No such service in this account", method="GET", path="")
    environments = reads.environments_of([service_sid])
    (row,) = _service_rows(reads, [service], environments, cached_only=False)
    return row


def _service_rows(
    reads: page_cache.PageReads,
    services: Sequence[Service],
    environments_of: Mapping[str, list[Environment] | ServerlessError],
    *,
    cached_only: bool,
) -> tuple[ServiceRow, ...]:
    """Rows with their cells; the records, policies and deployers in a fixed number of queries."""
    all_envs = [
        env
        for result in environments_of.values()
        if not isinstance(result, ServerlessError)
        for env in result
    ]
    # The first paint starts reading what its pending rows lack, so that each row's own
    # request finds it read or in flight.
    read_ahead = cached_only and settings.DASHBOARD_OVERVIEW_READ_AHEAD
    details = reads.live_details(all_envs, cached_only=cached_only, read_ahead=read_ahead)
    overrides = _pipeline_overrides([s.sid for s in services])
    notes = records.environment_notes(environments=all_envs)
    gates = policies.environment_gates(environments=all_envs)
    who = records.deployers(
        deployment_sids=[
            facts.live.sid
            for facts in details.facts.values()
            if isinstance(facts, page_cache.LiveFacts) and facts.live
        ]
    )
    rows = []
    for service in services:
        result = environments_of[service.sid]
        if isinstance(result, ServerlessError):
            rows.append(ServiceRow(service=service, error=result.user_message))
            continue
        builds = details.builds.get(service.sid, {})
        if isinstance(builds, ServerlessError):
            rows.append(ServiceRow(service=service, error=builds.user_message))
            continue
        live = [env for env in result if env.build_sid]
        pending = any(env.sid not in details.facts or env.build_sid not in builds for env in live)
        created = _created(builds)
        cells: list[EnvironmentCell] = []
        # Which way promoting the previous cell's build into each cell would move it.
        arrivals: list[Direction | None] = []
        earlier_ran: tuple[str, ...] = ()
        for env in pipeline_order(result, overrides.get(service.sid, ())):
            earlier = cells[-1] if cells else None
            build = builds.get(env.build_sid or "")
            facts = details.facts.get(env.sid)
            source_ran, earlier_ran = (
                earlier_ran,
                facts.ran if isinstance(facts, page_cache.LiveFacts) else (),
            )
            cell = EnvironmentCell(
                environment=env,
                build=build,
                note=notes.get(env.sid, EnvironmentNote()),
                gate=gates.get(env.sid, policies.Gate()),
            )
            if isinstance(facts, ServerlessError):
                cells.append(replace(cell, error=facts.user_message))
                arrivals.append(None)
                continue
            deployment = facts.live if facts else None
            arrival = None
            if earlier is not None and not earlier.is_empty and build is not None:
                arrival = promotion_direction(
                    source_build_sid=earlier.build_sid,
                    target_build_sid=env.build_sid,
                    created=created,
                    target_ran=facts.ran if facts else (),
                )
            arrivals.append(arrival)
            cells.append(
                replace(
                    cell,
                    behind_by=builds_behind(
                        source_ran=source_ran,
                        target_ran=facts.ran if facts else (),
                        target_build_sid=env.build_sid,
                        created=created,
                    )
                    if arrival == Direction.FORWARD
                    else None,
                    live_since=deployment.date_created if deployment else None,
                    previous_build_sid=facts.previous_build_sid if facts else None,
                    deployed_by=who.get(deployment.sid) if deployment else None,
                    comparison=_COMPARED[arrival] if arrival else None,
                    compared_with=earlier.environment.unique_name if earlier else None,
                )
            )
        linked = [
            replace(
                cell,
                next_environment=cells[i + 1].environment,
                promotion=arrivals[i + 1],
                soak=soak_rule.soak_wait(
                    policy=cells[i + 1].gate.policy,
                    source_name=cell.environment.unique_name or "",
                    live_since=cell.live_since,
                ),
            )
            if i + 1 < len(cells)
            else cell
            for i, cell in enumerate(cells)
        ]
        rows.append(ServiceRow(service=service, cells=tuple(linked), pending=pending))
    return tuple(rows)


@dataclass(frozen=True)
class HistoryRow:
    deployment: Deployment
    build: Build | None
    is_live: bool
    live_build_sid: str | None = None
    deployed_by: str | None = None

    @property
    def can_redeploy(self) -> bool:
        """An earlier, completed build that is not live now: a rollback target."""
        return bool(
            self.deployment.build_sid
            and self.deployment.build_sid != self.live_build_sid
            and self.build is not None
            and self.build.status == BUILD_COMPLETED
        )


@dataclass(frozen=True)
class HistoryPage:
    rows: tuple[HistoryRow, ...]
    next_cursor: str | None
    page_size: int


@dataclass(frozen=True)
class LiveMarker:
    """What was live when the first page of a history was read: marks rows on later pages."""

    deployment_sid: str | None = None
    build_sid: str | None = None


@dataclass(frozen=True)
class EnvironmentDetail:
    service: Service
    environment: Environment
    live_build: Build | None
    live: LiveMarker
    history: HistoryPage
    pipeline: tuple[Environment, ...] = field(default=())
    note: EnvironmentNote = field(default_factory=EnvironmentNote)
    gate: policies.Gate = field(default_factory=policies.Gate)
    # Deployments Twilio deleted when the environment was cleared; kept in our records.
    cleared_history: tuple[DeploymentRecord, ...] = ()
    as_of: datetime | None = None

    @property
    def live_deployment(self) -> Deployment | None:
        return next((row.deployment for row in self.history.rows if row.is_live), None)

    @property
    def rollback_build_sid(self) -> str | None:
        """The build live before the live one, on the first page: where a rollback goes."""
        rows = self.history.rows
        live = next((i for i, row in enumerate(rows) if row.is_live), None)
        if live is None:
            return None
        return next((r.deployment.build_sid for r in rows[live + 1 :] if r.can_redeploy), None)


def _history_rows(
    page: Page[Deployment], builds: dict[str, Build], live: LiveMarker
) -> tuple[HistoryRow, ...]:
    who = records.deployers(deployment_sids=[d.sid for d in page.items])
    return tuple(
        HistoryRow(
            deployment=d,
            build=builds.get(d.build_sid or ""),
            is_live=d.sid == live.deployment_sid,
            live_build_sid=live.build_sid,
            deployed_by=who.get(d.sid),
        )
        for d in page.items
    )


def environment_detail(
    *,
    service_sid: str,
    environment_sid: str,
    page_size: int = DEFAULT_HISTORY_PAGE_SIZE,
    cursor: str | None = None,
) -> EnvironmentDetail:
    """An environment, its live build and one page of its deployments.

    One round trip: the service, its environments (this one among them), the page, and
    the whole history (Twilio does not document the list's order, so "live since" needs
    all of it); then the builds shown, from the cache when known.
    """
    client = _client()
    reads = page_cache.PageReads(client)
    reads.preload([service_sid, environment_sid])

    def read(what: str) -> object:
        if what == "service":
            return reads.service(service_sid)
        if what == "environments":
            return reads.environments(service_sid)
        if what == "history":
            return reads.history(service_sid, environment_sid)
        if cursor is None:
            return reads.first_page(service_sid, environment_sid, page_size)
        return client.deployment_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            page_size=page_size,
            cursor=cursor,
        )

    service, environments, history, page = client.read_many(
        read, ["service", "environments", "history", "page"]
    )
    assert isinstance(service, Service)
    assert isinstance(environments, list)
    assert isinstance(history, list)
    assert isinstance(page, Page)
    environment = next((e for e in environments if e.sid == environment_sid), None)
    if environment is None:
        raise NotFound("No such environment in this service", method="GET", path="")
    live_deployment, _ = live_since_and_previous(history, environment.build_sid)
    live = LiveMarker(
        deployment_sid=live_deployment.sid if live_deployment else None,
        build_sid=environment.build_sid,
    )
    wanted = {d.build_sid for d in page.items if d.build_sid}
    if environment.build_sid:
        wanted.add(environment.build_sid)
    builds = reads.builds(service_sid, wanted)
    override = _pipeline_overrides([service_sid]).get(service_sid, ())
    return EnvironmentDetail(
        as_of=reads.as_of or timezone.now(),
        service=service,
        environment=environment,
        live_build=builds.get(environment.build_sid or ""),
        live=live,
        history=HistoryPage(
            rows=_history_rows(page, builds, live),
            next_cursor=page.next_cursor,
            page_size=page_size,
        ),
        pipeline=tuple(pipeline_order(environments, override)),
        note=records.environment_notes(environments=[environment]).get(
            environment.sid, EnvironmentNote()
        ),
        gate=policies.environment_gates(environments=[environment])[environment.sid],
        cleared_history=tuple(records.durable_history(environment_sid=environment.sid)),
    )


def history_page(
    *, service_sid: str, environment_sid: str, cursor: str, live: LiveMarker
) -> HistoryPage:
    """The next page of an environment's deployments: one upstream list call.

    `live` is what the first page found live (handed on signed, see forms.LiveField);
    build statuses come from the build cache, so only a build never seen before costs
    another read.
    """
    client = _client()
    page = client.deployment_page(
        service_sid=service_sid, environment_sid=environment_sid, cursor=cursor
    )
    builds = page_cache.PageReads(client).builds(
        service_sid, {d.build_sid for d in page.items if d.build_sid}
    )
    return HistoryPage(
        rows=_history_rows(page, builds, live),
        next_cursor=page.next_cursor,
        page_size=len(page.items),
    )


@dataclass(frozen=True)
class BuildDetail:
    service: Service
    build: Build
    running_in: tuple[Environment, ...]
    environments: tuple[Environment, ...]
    # Environments that ran this build before and run another one now.
    ran_before_in: tuple[Environment, ...] = ()
    # Which way promoting this build would move each other environment, by SID.
    directions: Mapping[str, Direction] = field(default_factory=dict)
    as_of: datetime | None = None

    @property
    def is_building(self) -> bool:
        return self.build.status not in (BUILD_COMPLETED, BUILD_FAILED)

    @property
    def promote_source(self) -> Environment | None:
        """The first environment in the pipeline that runs this build."""
        return self.running_in[0] if self.running_in else None

    @property
    def promote_targets(self) -> tuple[Environment, ...]:
        """Every later environment that does not run this build yet."""
        source = self.promote_source
        if source is None or self.build.status != BUILD_COMPLETED:
            return ()
        later = self.environments[self.environments.index(source) + 1 :]
        return tuple(e for e in later if e.build_sid != self.build.sid)

    @property
    def promote_choices(self) -> tuple[tuple[Environment, bool], ...]:
        """Each promote target, and whether promoting moves it back to an older build."""
        return tuple(
            (e, self.directions.get(e.sid) == Direction.BACKWARD) for e in self.promote_targets
        )

    @property
    def redeploy_targets(self) -> tuple[Environment, ...]:
        """Environments this build can be rolled back to (not offered as promotions)."""
        promotions = {e.sid for e in self.promote_targets}
        return tuple(e for e in self.ran_before_in if e.sid not in promotions)


def build_detail(*, service_sid: str, build_sid: str) -> BuildDetail:
    client = _client()
    reads = page_cache.PageReads(client)
    reads.preload([service_sid])

    def read(what: str) -> object:
        if what == "service":
            return reads.service(service_sid)
        if what == "build":
            return reads.build(service_sid, build_sid)
        return reads.environments(service_sid)

    service, build, environments = client.read_many(read, ["service", "build", "environments"])
    assert isinstance(service, Service)
    assert isinstance(build, Build)
    assert isinstance(environments, list)
    ordered = tuple(
        pipeline_order(environments, _pipeline_overrides([service_sid]).get(service_sid, ()))
    )
    # Where this build ran before (a rollback target), and the builds live there (which
    # way a promotion would move them): the histories and the builds, read concurrently.
    elsewhere = [e for e in ordered if e.build_sid and e.build_sid != build.sid]
    reads.preload(e.sid for e in elsewhere)

    def read_more(item: Environment | None) -> object:
        if item is None:
            return reads.builds(service_sid, {e.build_sid or "" for e in elsewhere})
        return builds_ran(reads.history(service_sid, item.sid))

    ran: list[tuple[str, ...]] = []
    directions: dict[str, Direction] = {}
    if build.status == BUILD_COMPLETED and elsewhere:
        live_builds, *found = client.read_many(read_more, [None, *elsewhere])
        assert isinstance(live_builds, dict)
        ran = [cast("tuple[str, ...]", r) for r in found]
        created = _created({**live_builds, build.sid: build})
        directions = {
            e.sid: promotion_direction(
                source_build_sid=build.sid,
                target_build_sid=e.build_sid,
                created=created,
                target_ran=builds,
            )
            for e, builds in zip(elsewhere, ran, strict=True)
        }
    return BuildDetail(
        service=service,
        build=build,
        running_in=tuple(e for e in ordered if e.build_sid == build.sid),
        environments=ordered,
        ran_before_in=tuple(
            e for e, builds in zip(elsewhere, ran, strict=False) if build.sid in builds
        ),
        directions=directions,
        as_of=reads.as_of or timezone.now(),
    )


@dataclass(frozen=True)
class ActionPreview:
    """What a confirmation dialog shows before a deployment action."""

    action: str
    service: Service
    environment: Environment
    build: Build | None = None
    live_build: Build | None = None
    source: Environment | None = None
    # For a restore: the clear whose earlier build it would bring back.
    clear_entry: AuditEntry | None = None
    # The target's policy, and the freeze in force there now.
    policy: EnvironmentPolicy | None = None
    freeze: policies.Freeze | None = None
    # For a promotion: which way it moves the target (backward: to an older build).
    direction: Direction | None = None
    # For a promotion into an environment with a soak time: why the build may not go yet.
    soak: soak_rule.SoakWait | None = None

    @property
    def needs_approval(self) -> bool:
        return bool(self.policy and self.policy.protected)

    @property
    def moves_back(self) -> bool:
        """A promotion that moves the target back to an older build: it needs a reason."""
        return self.is_promote and self.direction == Direction.BACKWARD

    @property
    def freeze_message(self) -> str:
        return self.freeze.message(self.environment.unique_name or "") if self.freeze else ""

    @property
    def is_clear(self) -> bool:
        return self.action == AuditEntry.Action.CLEAR

    @property
    def is_promote(self) -> bool:
        return self.action == AuditEntry.Action.PROMOTE

    @property
    def asks_reason(self) -> bool:
        return self.action == AuditEntry.Action.REDEPLOY

    @property
    def reason_required(self) -> bool:
        """Approvers read it; a step back is explained (services/deployments.py refuses it bare)."""
        return self.needs_approval or self.moves_back

    @property
    def verb(self) -> str:
        """The confirm button's words, and the dialog title's."""
        return {
            AuditEntry.Action.PROMOTE: "Promote",
            AuditEntry.Action.REDEPLOY: "Roll back",
            AuditEntry.Action.RESTORE: "Restore",
            AuditEntry.Action.CLEAR: "Clear",
        }[AuditEntry.Action(self.action)]

    @property
    def title(self) -> str:
        name = self.environment.unique_name
        title = f"Promote to {name}?" if self.is_promote else f"{self.verb} {name}?"
        return f"Request approval: {title[0].lower()}{title[1:]}" if self.needs_approval else title


def action_preview(
    *,
    action: str,
    service_sid: str,
    environment_sid: str,
    build_sid: str | None = None,
    source_environment_sid: str | None = None,
) -> ActionPreview:
    """Service, target environment, the build to deploy and what is live there now."""
    client = _client()
    reads = page_cache.PageReads(client)
    clear_entry = None
    if action == AuditEntry.Action.RESTORE:
        clear_entry = records.restorable_clear(environment_sid=environment_sid)
        build_sid = clear_entry.previous_build_sid if clear_entry else None
    # The environments fresh: what a dialog confirms is what is live now.
    calls: list[Callable[[], object]] = [
        lambda: reads.service(service_sid),
        lambda: client.environment_get(service_sid=service_sid, environment_sid=environment_sid),
    ]
    if source_environment_sid:
        calls.append(
            lambda: client.environment_get(
                service_sid=service_sid, environment_sid=source_environment_sid
            )
        )
    service, environment, *rest = client.read_many(lambda call: call(), calls)
    assert isinstance(service, Service)
    assert isinstance(environment, Environment)
    source = rest[0] if rest else None
    assert source is None or isinstance(source, Environment)
    if source is not None:
        build_sid = source.build_sid
    builds = reads.builds(service_sid, {build_sid or "", environment.build_sid or ""})
    direction = None
    if action == AuditEntry.Action.PROMOTE:
        # By the builds' dates; the target's history only when they cannot tell (rare).
        def direction_of(target_ran: Sequence[str]) -> Direction:
            return promotion_direction(
                source_build_sid=build_sid,
                target_build_sid=environment.build_sid,
                created=_created(builds),
                target_ran=target_ran,
            )

        direction = direction_of(())
        if direction == Direction.UNKNOWN and environment.build_sid:
            direction = direction_of(builds_ran(reads.history(service_sid, environment_sid)))
    policy = policies.policy_for(
        service_sid=service_sid, environment_name=environment.unique_name or ""
    )
    waiting: soak_rule.SoakWait | None = None
    if source is not None and policy is not None and policy.soak_minutes:
        try:
            waiting = soak_rule.soak_refusal(
                client=reads.client, policy=policy, service_sid=service_sid, source=source
            )
        except ServerlessError:
            # The POST checks again and says what failed; the dialog still opens.
            logger.warning("Could not check the soak of %s", source.sid, exc_info=True)
    return ActionPreview(
        action=action,
        service=service,
        environment=environment,
        build=builds.get(build_sid or ""),
        live_build=builds.get(environment.build_sid or ""),
        source=source,
        clear_entry=clear_entry,
        policy=policy,
        freeze=policies.active_freeze(policy),
        direction=direction,
        soak=waiting,
    )


# --- audit -----------------------------------------------------------------------------------


def audit_entry_list(
    *,
    service: str = "",
    environment: str = "",
    user: str = "",
    action: str = "",
    outcome: str = "",
) -> QuerySet[AuditEntry]:
    """Audit entries matching every given filter, newest first."""
    entries = AuditEntry.objects.order_by("-created_at", "-id")
    if service:
        # Entries keep the service's display name; the SID is what never changes.
        entries = entries.filter(
            Q(service_sid__iexact=service)
            | Q(service_name__icontains=service)
            | Q(service_unique_name__icontains=service)
        )
    if environment:
        entries = entries.filter(
            Q(environment_sid__iexact=environment) | Q(environment_name__iexact=environment)
        )
    if user:
        entries = entries.filter(actor__iexact=user)
    if action:
        entries = entries.filter(action=action)
    if outcome:
        entries = entries.filter(outcome=outcome)
    return entries


# --- approvals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalsPage:
    waiting: tuple[PromotionRequest, ...]
    to_ratify: tuple[PromotionRequest, ...]
    decided: tuple[PromotionRequest, ...]


def _with_approvals(requests: QuerySet[PromotionRequest]) -> QuerySet[PromotionRequest]:
    return requests.select_related("requester", "ratified_by").annotate(given=standing_approvals())


def approvals_page(*, recent: int = 25) -> ApprovalsPage:
    """Requests waiting (or failed and retryable), break-glass to review, recent decisions."""
    now = timezone.now()
    Status = PromotionRequest.Status
    waiting = _with_approvals(
        PromotionRequest.objects.filter(
            status__in=[Status.OPEN, Status.EXECUTING, Status.FAILED],
            expires_at__gt=now,
            break_glass=False,
        )
    ).order_by("created_at")
    to_ratify = _with_approvals(
        PromotionRequest.objects.filter(break_glass=True, ratified_at__isnull=True)
    ).order_by("created_at")
    decided = _with_approvals(
        PromotionRequest.objects.exclude(pk__in=[r.pk for r in waiting]).exclude(
            pk__in=[r.pk for r in to_ratify]
        )
    ).order_by("-created_at")[:recent]
    return ApprovalsPage(waiting=tuple(waiting), to_ratify=tuple(to_ratify), decided=tuple(decided))


def approvals_waiting_count(user: roles.User) -> int:
    """How many open requests this user could approve now (the header's badge)."""
    now = timezone.now()
    # Open ones this user has not approved yet, and failed ones they may retry.
    Status = PromotionRequest.Status
    open_requests = (
        PromotionRequest.objects.filter(
            status__in=[Status.OPEN, Status.FAILED], expires_at__gt=now, break_glass=False
        )
        .exclude(
            status=Status.OPEN,
            approvals__approver=getattr(user, "pk", None),
            approvals__voided_at__isnull=True,
        )
        .distinct()
    )
    found = policies.policies_for(service_sids=sorted({r.service_sid for r in open_requests}))
    count = 0
    for request in open_requests:
        policy = found.get((request.service_sid, request.environment_name))
        own = request.requester_id == getattr(user, "pk", None)
        if policies.user_can_approve(user, policy) and (
            not own or (policy is not None and policy.allow_self_approval)
        ):
            count += 1
    return count


@dataclass(frozen=True)
class RequestDetail:
    request: PromotionRequest
    approvals: tuple[Approval, ...]
    entries: tuple[AuditEntry, ...]
    policy: EnvironmentPolicy | None
    freeze: policies.Freeze | None
    # What the target runs now (None when Twilio could not be read), and its build.
    live_now: Environment | None
    live_build: Build | None
    requested_build: Build | None
    read_error: str = ""
    # A promotion that would move the target back to an older build (by the builds' dates).
    moves_back: bool = False

    @property
    def target_changed(self) -> bool:
        """The target runs something else than when the request was made."""
        return self.live_now is not None and (self.live_now.build_sid or "") != (
            self.request.live_build_sid
        )


def request_detail(*, request_id: int) -> RequestDetail:
    request = _with_approvals(PromotionRequest.objects.filter(pk=request_id)).first()
    if request is None:
        raise NotFound("No such request", method="GET", path="")
    policy = policies.policy_for(
        service_sid=request.service_sid, environment_name=request.environment_name
    )
    client = _client()
    live_now: Environment | None = None
    builds: dict[str, Build] = {}
    read_error = ""
    try:
        live_now = client.environment_get(
            service_sid=request.service_sid, environment_sid=request.environment_sid
        )
        builds = page_cache.PageReads(client).builds(
            request.service_sid, {live_now.build_sid or "", request.build_sid}
        )
    except ServerlessError as exc:
        read_error = exc.user_message
    moves_back = (
        request.action == AuditEntry.Action.PROMOTE
        and live_now is not None
        and promotion_direction(
            source_build_sid=request.build_sid,
            target_build_sid=live_now.build_sid,
            created=_created(builds),
        )
        == Direction.BACKWARD
    )
    return RequestDetail(
        request=request,
        approvals=tuple(request.approvals.select_related("approver").order_by("created_at")),
        entries=tuple(request.audit_entries.order_by("created_at", "id")),
        policy=policy,
        freeze=policies.active_freeze(policy),
        live_now=live_now,
        live_build=builds.get(live_now.build_sid or "") if live_now else None,
        requested_build=builds.get(request.build_sid),
        read_error=read_error,
        moves_back=moves_back,
    )
