"""The dashboard's own records, kept in step with what the reads of Twilio find.

Twilio knows what is live and (until a clear) what was deployed. Only the dashboard
knows who deployed it and why, what it expects to be live, and what it saw before a
clear deleted the history upstream. The selectors call these functions on every read:

- `history_sync` records every deployment a page of history shows;
- `environment_observe` settles audit entries whose worker never finished, notices
  changes made outside the dashboard (recording each one once) and says what the page
  should show about each environment;
- `deployers` and `durable_history` read the records back.

Each costs a handful of queries for a whole page, whatever the number of environments;
writes happen only when something actually changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from deployments_app.services.locks import LOCK_SECONDS
from deployments_app.services.serverless_types import Deployment, Environment

__all__ = [
    "STALE_READ_SECONDS",
    "Cleared",
    "EnvironmentNote",
    "RolledBack",
    "deployers",
    "durable_history",
    "environment_observe",
    "history_sync",
]

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

# A page's read of Twilio may have started before an action finished and be answered
# after it (a read is bounded by the client's timeouts and retry budget, well under
# this). Within this window an environment still showing what the action replaced is
# taken for such a stale read, not for a change outside the dashboard; and an entry
# whose outcome was unknown is not failed yet (its deployment may still land upstream).
STALE_READ_SECONDS = 30


@dataclass(frozen=True)
class RolledBack:
    """The last action was a redeploy (roll back), and its build is still live."""

    actor: str
    build_sid: str
    reason: str
    when: datetime
    entry: AuditEntry


@dataclass(frozen=True)
class Cleared:
    """The last action was a clear, and the environment is still empty."""

    actor: str
    when: datetime
    # What was live before the clear: what "Restore" would redeploy (None: nothing).
    previous_build_sid: str | None
    entry: AuditEntry


@dataclass(frozen=True)
class EnvironmentNote:
    """What the dashboard knows about an environment that Twilio does not say."""

    rolled_back: RolledBack | None = None
    cleared: Cleared | None = None
    # The `external` audit entry, when the last thing that happened here happened
    # outside the dashboard.
    changed_outside: AuditEntry | None = None


# --- deployment records ----------------------------------------------------------------------


def history_sync(
    *, service_sid: str, environment_sid: str, deployments: Sequence[Deployment]
) -> None:
    """Record every deployment seen; one read-only query when they are all known."""
    seen = {d.sid: d for d in deployments if d.sid}
    if not seen:
        return
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
        # Another page read may record the same deployments at the same time.
        DeploymentRecord.objects.bulk_create(new, ignore_conflicts=True)


def deployers(*, deployment_sids: Iterable[str]) -> dict[str, str]:
    """Deployment SID → the user who made it, for the deployments made from here."""
    sids = list({sid for sid in deployment_sids if sid})
    if not sids:
        return {}
    rows = (
        DeploymentRecord.objects.filter(deployment_sid__in=sids)
        .exclude(deployed_by="")
        .values_list("deployment_sid", "deployed_by")
    )
    return dict(rows)


def durable_history(*, environment_sid: str) -> list[DeploymentRecord]:
    """The deployments a clear deleted upstream, as the dashboard saw them; newest first."""
    return list(
        DeploymentRecord.objects.filter(
            environment_sid=environment_sid, cleared_upstream_at__isnull=False
        ).order_by("-date_created", "-deployment_sid")
    )


# --- environments --------------------------------------------------------------------------


def environment_observe(*, environments: Sequence[Environment]) -> dict[str, EnvironmentNote]:
    """Bring the records in step with these freshly read environments; a note for each.

    (a) settles this environment's entries left `pending` by a worker that died (older
    than the lock) or left `unknown`, by what is live now; (b) records a change made
    outside the dashboard once, as an `external` entry, or takes a first look as the
    baseline; (c) returns what the page should say (rolled back, cleared, changed
    outside).
    """
    live = {env.sid: env for env in environments if env.sid}
    if not live:
        return {}
    now = timezone.now()

    # Entries before states: an action completes its entry and updates the state in one
    # transaction, so an entry seen completed here has its state updated below too.
    in_flight: set[str] = set()
    settled: list[AuditEntry] = []
    open_entries = AuditEntry.objects.filter(
        environment_sid__in=list(live), outcome__in=[Outcome.PENDING, Outcome.UNKNOWN]
    ).order_by("created_at", "id")
    for entry in open_entries:
        if entry.outcome == Outcome.PENDING and entry.created_at > now - timedelta(
            seconds=LOCK_SECONDS
        ):
            # Its worker may still hold the lock and be talking to Twilio.
            in_flight.add(entry.environment_sid)
            continue
        if _settle(entry, live[entry.environment_sid], now):
            settled.append(entry)

    states = {
        state.environment_sid: state
        for state in EnvironmentState.objects.filter(environment_sid__in=list(live)).select_related(
            "last_action", "external_change"
        )
    }
    for entry in settled:
        if entry.outcome == Outcome.SUCCEEDED:
            states[entry.environment_sid] = _adopt(entry, states.get(entry.environment_sid))

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

    notes: dict[str, EnvironmentNote] = {}
    for sid, env in live.items():
        state = states.get(sid)
        if state is None:
            notes[sid] = EnvironmentNote()
            continue
        if not state.known:
            _know(state, env)
        elif sid not in in_flight and _changed_outside(state, env, now):
            _record_external(state, env, now)
        notes[sid] = _note(state, env)
    return notes


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
    done = entry.complete(
        outcome=outcome,
        error_message=f"Reconciled: the environment runs {observed or 'nothing'}.",
    )
    if done:
        logger.warning(
            "Reconciled %s entry %s in %s as %s",
            entry.action,
            entry.pk,
            entry.environment_sid,
            outcome,
        )
    return done


def _adopt(entry: AuditEntry, state: EnvironmentState | None) -> EnvironmentState:
    """A settled success becomes what we expect, unless a later action already is."""
    last = state.last_action if state else None
    if state is not None and last is not None and _later(last, entry):
        return state
    with transaction.atomic():
        if entry.action == Action.CLEAR:
            # As after any clear: the history upstream is gone, ours is kept, marked.
            # Those made before it: seen before it began, or dated so by Twilio.
            DeploymentRecord.objects.filter(
                Q(first_seen_at__lte=entry.created_at) | Q(date_created__lt=entry.created_at),
                environment_sid=entry.environment_sid,
                cleared_upstream_at__isnull=True,
            ).update(cleared_upstream_at=timezone.now())
        adopted, _ = EnvironmentState.objects.update_or_create(
            environment_sid=entry.environment_sid,
            defaults={
                "service_sid": entry.service_sid,
                "expected_build_sid": entry.build_sid,
                "known": True,
                "last_action": entry,
                "external_change": None,
            },
        )
    adopted.last_action = entry
    return adopted


def _know(state: EnvironmentState, environment: Environment) -> None:
    observed = environment.build_sid or ""
    EnvironmentState.objects.filter(pk=state.pk, known=False).update(
        known=True, expected_build_sid=observed
    )
    state.known = True
    state.expected_build_sid = observed


def _changed_outside(state: EnvironmentState, environment: Environment, now: datetime) -> bool:
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


def _record_external(state: EnvironmentState, environment: Environment, now: datetime) -> None:
    """Record the change once, however many readers see it at the same time."""
    expected = state.expected_build_sid
    observed = environment.build_sid or ""
    last = state.last_action
    with transaction.atomic():
        # Claim the change: of concurrent readers, only one moves the expectation.
        claimed = EnvironmentState.objects.filter(
            pk=state.pk, known=True, expected_build_sid=expected
        ).update(expected_build_sid=observed)
        if not claimed:
            return
        entry = AuditEntry.objects.create(
            action=Action.EXTERNAL,
            actor="",
            via="system",
            service_sid=environment.service_sid or state.service_sid,
            service_name=last.service_name if last else "",
            service_unique_name=last.service_unique_name if last else "",
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


def _note(state: EnvironmentState, environment: Environment) -> EnvironmentNote:
    live = environment.build_sid or ""
    last = state.last_action
    rolled_back: RolledBack | None = None
    cleared: Cleared | None = None
    if last is not None and last.outcome == Outcome.SUCCEEDED:
        when = last.completed_at or last.created_at
        if last.action == Action.REDEPLOY and live and last.build_sid == live:
            rolled_back = RolledBack(
                actor=last.actor,
                build_sid=last.build_sid,
                reason=last.reason,
                when=when,
                entry=last,
            )
        elif last.action == Action.CLEAR and not live:
            cleared = Cleared(
                actor=last.actor,
                when=when,
                previous_build_sid=last.previous_build_sid or None,
                entry=last,
            )
    external = state.external_change
    changed_outside = (
        external if external is not None and (last is None or _later(external, last)) else None
    )
    return EnvironmentNote(
        rolled_back=rolled_back, cleared=cleared, changed_outside=changed_outside
    )


def _later(entry: AuditEntry, other: AuditEntry) -> bool:
    return (entry.created_at, entry.pk) > (other.created_at, other.pk)
