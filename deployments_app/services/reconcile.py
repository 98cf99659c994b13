"""Reconciliation: the one place the dashboard's own records are brought in step with Twilio.

A write service, never a side effect of a page read. It runs
- after each action, for what the action did (`action_adopt`, and `history_record`
  before a clear deletes the history upstream);
- on an explicit refresh (a POST from the overview or an environment page);
- from `manage.py reconcile`, periodically (cron), on any number of hosts at once.

Every step is idempotent and safe to run concurrently: records are created with
`ignore_conflicts`, an outside change is claimed by a conditional UPDATE before its audit
entry is written, and an abandoned entry is completed only while it is still open.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from deployments_app.services.locks import LOCK_SECONDS
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import ServerlessError
from deployments_app.services.serverless_types import Deployment, Environment, Service

__all__ = [
    "STALE_READ_SECONDS",
    "ReconcileReport",
    "account_reconcile",
    "action_adopt",
    "changed_outside",
    "environments_reconcile",
    "history_record",
    "in_flight",
    "service_reconcile",
    "services_reconcile",
]

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

# A read of Twilio may have started before an action finished and be answered after it
# (a read is bounded by the client's timeouts and retry budget, well under this). Within
# this window an environment still showing what the action replaced is taken for such a
# stale read, not for a change outside the dashboard; and an entry whose outcome was
# unknown is not failed yet (its deployment may still land upstream).
STALE_READ_SECONDS = 30


@dataclass(frozen=True)
class ReconcileReport:
    """What one reconcile found and wrote; printed by the command, logged by the views."""

    environments: int = 0
    deployments_recorded: int = 0
    entries_settled: int = 0
    outside_changes: int = 0
    baselines: int = 0
    errors: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a person: what changed, and what could not be read."""
        found = [
            f"{count} {what}"
            for count, what in (
                (self.outside_changes, "change(s) made outside the dashboard recorded"),
                (self.entries_settled, "unfinished action(s) settled"),
                (self.deployments_recorded, "deployment(s) added to the dashboard's history"),
            )
            if count
        ]
        line = f"Checked {self.environments} environment(s) against Twilio: " + (
            "; ".join(found) if found else "everything was already in step"
        )
        if self.errors:
            line += ". Could not read: " + "; ".join(self.errors[:5])
        return line + "."

    def __add__(self, other: ReconcileReport) -> ReconcileReport:
        return ReconcileReport(
            environments=self.environments + other.environments,
            deployments_recorded=self.deployments_recorded + other.deployments_recorded,
            entries_settled=self.entries_settled + other.entries_settled,
            outside_changes=self.outside_changes + other.outside_changes,
            baselines=self.baselines + other.baselines,
            errors=self.errors + other.errors,
        )


# --- reading Twilio, then reconciling --------------------------------------------------------


def account_reconcile(*, client: ServerlessClient | None = None) -> ReconcileReport:
    """Every service of the account: its environments and their histories."""
    client = client or get_client()
    try:
        services = client.service_list()
    except ServerlessError as exc:
        return ReconcileReport(errors=(f"services: {exc.user_message}",))
    return services_reconcile(services=services, client=client)


def service_reconcile(
    *, service_sid: str, client: ServerlessClient | None = None
) -> ReconcileReport:
    """One service's environments and their histories."""
    return services_reconcile(services=[service_sid], client=client)


def services_reconcile(
    *, services: Sequence[Service | str], client: ServerlessClient | None = None
) -> ReconcileReport:
    """These services' environments and histories: read concurrently, written here.

    `services` are Services as listed, or SIDs (then each is read too, for its names).
    Two rounds of reads (the services' environment lists, then every history),
    ⌈n/concurrency⌉ round trips each; the writes stay in the calling thread, on its
    database connection.
    """
    client = client or get_client()
    errors: list[str] = []
    environments: list[Environment] = []
    names: dict[str, Service] = {}

    def read(service: Service | str) -> tuple[Service, list[Environment]]:
        found = service if isinstance(service, Service) else client.service_get(service=service)
        return found, client.environment_list(service_sid=found.sid)

    for service, listed in zip(
        services, client.read_many(read, services, return_exceptions=True), strict=True
    ):
        if isinstance(listed, ServerlessError):
            label = service.unique_name or service.sid if isinstance(service, Service) else service
            errors.append(f"{label}: {listed.user_message}")
        else:
            found, found_environments = listed
            names[found.sid] = found
            environments += found_environments
    histories = client.read_many(
        lambda env: list(
            client.deployment_iter(
                service_sid=env.service_sid or "", environment_sid=env.sid, page_size=1000
            )
        ),
        environments,
        return_exceptions=True,
    )
    recorded = 0
    for env, history in zip(environments, histories, strict=True):
        if isinstance(history, ServerlessError):
            errors.append(f"{env.unique_name or env.sid}: {history.user_message}")
            continue
        recorded += history_record(
            service_sid=env.service_sid or "", environment_sid=env.sid, deployments=history
        )
    report = environments_reconcile(environments=environments, services=names)
    return report + ReconcileReport(deployments_recorded=recorded, errors=tuple(errors))


# --- deployment records ----------------------------------------------------------------------


def history_record(
    *, service_sid: str, environment_sid: str, deployments: Sequence[Deployment]
) -> int:
    """Record every deployment seen (they survive a clear upstream); how many were new."""
    seen = {d.sid: d for d in deployments if d.sid}
    if not seen:
        return 0
    known = set(
        DeploymentRecord.objects.filter(deployment_sid__in=list(seen)).values_list(
            "deployment_sid", flat=True
        )
    )
    new = [
        DeploymentRecord(
            deployment_sid=sid,
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=d.build_sid or "",
            date_created=d.date_created,
        )
        for sid, d in seen.items()
        if sid not in known
    ]
    if new:
        # Another reconcile may record the same deployments at the same time.
        DeploymentRecord.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def action_adopt(*, entry: AuditEntry, deployment: Deployment | None) -> None:
    """A succeeded action becomes what we expect to be live: the one record-keeping path.

    Called by the action itself, and by `environments_reconcile` for an action whose
    worker died after its deployment landed. Run inside a transaction.
    """
    if entry.action == Action.CLEAR:
        # The clear deleted the history upstream; ours is kept, marked. Those made
        # before it: seen before it began, or dated so by Twilio.
        DeploymentRecord.objects.filter(
            Q(first_seen_at__lte=entry.created_at) | Q(date_created__lt=entry.created_at),
            environment_sid=entry.environment_sid,
            cleared_upstream_at__isnull=True,
        ).exclude(deployment_sid=entry.deployment_sid).update(cleared_upstream_at=timezone.now())
    if deployment is not None:
        DeploymentRecord.objects.update_or_create(
            deployment_sid=deployment.sid,
            defaults={
                "service_sid": entry.service_sid,
                "environment_sid": entry.environment_sid,
                "build_sid": deployment.build_sid or "",
                "date_created": deployment.date_created or timezone.now(),
                "deployed_by": entry.actor,
                "audit_entry": entry,
            },
        )
    EnvironmentState.objects.update_or_create(
        environment_sid=entry.environment_sid,
        defaults={
            "service_sid": entry.service_sid,
            "expected_build_sid": entry.build_sid,
            "known": True,
            "last_action": entry,
            "external_change": None,
        },
    )


# --- environments --------------------------------------------------------------------------


def in_flight(entry: AuditEntry, now: datetime) -> bool:
    """A pending entry younger than the lock: its worker may still be talking to Twilio."""
    return entry.outcome == Outcome.PENDING and entry.created_at > now - timedelta(
        seconds=LOCK_SECONDS
    )


def environments_reconcile(
    *, environments: Sequence[Environment], services: Mapping[str, Service] | None = None
) -> ReconcileReport:
    """Bring the records in step with these freshly read environments.

    (a) settles this environment's entries left `pending` by a worker that died (older
    than the lock) or left `unknown`, by what is live now; (b) records a change made
    outside the dashboard once, as an `external` entry, or takes a first look as the
    baseline.
    """
    live = {env.sid: env for env in environments if env.sid}
    if not live:
        return ReconcileReport()
    now = timezone.now()

    # Entries before states: an action completes its entry and updates the state in one
    # transaction, so an entry seen completed here has its state updated below too.
    busy: set[str] = set()
    settled = 0
    open_entries = AuditEntry.objects.filter(
        environment_sid__in=list(live), outcome__in=[Outcome.PENDING, Outcome.UNKNOWN]
    ).order_by("created_at", "id")
    for entry in open_entries:
        if in_flight(entry, now):
            busy.add(entry.environment_sid)
        elif _settle(entry, live[entry.environment_sid], now):
            settled += 1

    states = {
        state.environment_sid: state
        for state in EnvironmentState.objects.filter(environment_sid__in=list(live)).select_related(
            "last_action", "external_change"
        )
    }
    baselines = [
        EnvironmentState(
            environment_sid=sid,
            service_sid=env.service_sid or "",
            expected_build_sid=env.build_sid or "",
            known=True,
        )
        for sid, env in live.items()
        if sid not in states
    ]
    if baselines:
        # First sight of these environments: what is live now is what we expect.
        EnvironmentState.objects.bulk_create(baselines, ignore_conflicts=True)

    outside = 0
    for sid, env in live.items():
        state = states.get(sid)
        if state is None:
            continue
        if not state.known:
            _know(state, env)
        elif sid not in busy and changed_outside(state, env, now):
            service = (services or {}).get(env.service_sid or "")
            outside += _record_external(state, env, now, service)
    return ReconcileReport(
        environments=len(live),
        entries_settled=settled,
        outside_changes=outside,
        baselines=len(baselines),
    )


def changed_outside(state: EnvironmentState, environment: Environment, now: datetime) -> bool:
    """Whether what is live differs from what we expect, and not only by a stale read."""
    observed = environment.build_sid or ""
    if state.expected_build_sid == observed:
        return False
    last = state.last_action
    # The environment still shows what our last action replaced: a read from before it.
    stale_read = (
        last is not None
        and last.previous_build_sid == observed
        and (last.completed_at or last.created_at) > now - timedelta(seconds=STALE_READ_SECONDS)
    )
    return not stale_read


def _settle(entry: AuditEntry, environment: Environment, now: datetime) -> bool:
    """Complete an abandoned entry by what is live now. False if not (yet) decidable."""
    wanted = entry.build_sid or None  # a clear deploys nothing
    observed = environment.build_sid
    if observed == wanted:
        # When it was live before the action began too, the action changed nothing.
        noop = (entry.previous_build_sid or None) == wanted
        outcome = Outcome.NOOP if noop else Outcome.SUCCEEDED
    else:
        finished = entry.completed_at or entry.created_at
        if entry.outcome == Outcome.UNKNOWN and finished > now - timedelta(
            seconds=STALE_READ_SECONDS
        ):
            return False
        outcome = Outcome.FAILED
    with transaction.atomic():
        done = entry.complete(
            outcome=outcome,
            error_message=f"Reconciled: the environment runs {observed or 'nothing'}.",
        )
        if done and outcome == Outcome.SUCCEEDED and not _superseded(entry):
            action_adopt(entry=entry, deployment=None)
    if done:
        logger.warning(
            "Reconciled %s entry %s in %s as %s",
            entry.action,
            entry.pk,
            entry.environment_sid,
            outcome,
        )
    return done


def _superseded(entry: AuditEntry) -> bool:
    """Whether a later action already decides what this environment should run."""
    state = (
        EnvironmentState.objects.filter(environment_sid=entry.environment_sid)
        .select_related("last_action")
        .first()
    )
    last = state.last_action if state else None
    return last is not None and (last.created_at, last.pk) > (entry.created_at, entry.pk)


def _know(state: EnvironmentState, environment: Environment) -> None:
    observed = environment.build_sid or ""
    EnvironmentState.objects.filter(pk=state.pk, known=False).update(
        known=True, expected_build_sid=observed
    )
    state.known = True
    state.expected_build_sid = observed


def _record_external(
    state: EnvironmentState, environment: Environment, now: datetime, service: Service | None
) -> int:
    """Record the change once, however many reconciles see it at the same time."""
    expected = state.expected_build_sid
    observed = environment.build_sid or ""
    last = state.last_action
    with transaction.atomic():
        # Claim the change: of concurrent reconciles, only one moves the expectation.
        claimed = EnvironmentState.objects.filter(
            pk=state.pk, known=True, expected_build_sid=expected
        ).update(expected_build_sid=observed)
        if not claimed:
            return 0
        entry = AuditEntry.objects.create(
            action=Action.EXTERNAL,
            actor="",
            via="system",
            service_sid=environment.service_sid or state.service_sid,
            # Named as Twilio names the service now, or as our last action did.
            service_name=(service.friendly_name or service.unique_name or "")
            if service
            else (last.service_name if last else ""),
            service_unique_name=(service.unique_name or "")
            if service
            else (last.service_unique_name if last else ""),
            environment_sid=environment.sid,
            environment_name=environment.unique_name or "",
            previous_build_sid=expected,
            build_sid=observed,
            outcome=Outcome.SUCCEEDED,
            completed_at=now,
            error_message=(
                f"Changed outside the dashboard: {expected or 'nothing'} → "
                f"{observed or 'nothing'}, seen at {now:%Y-%m-%d %H:%M:%S %Z}."
            ),
        )
        EnvironmentState.objects.filter(pk=state.pk).update(external_change=entry)
    logger.warning(
        "%s changed outside the dashboard: %s -> %s",
        environment.sid,
        expected or "nothing",
        observed or "nothing",
    )
    state.expected_build_sid = observed
    state.external_change = entry
    return 1
