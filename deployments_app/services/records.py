"""The dashboard's own records, read back for the pages. Reads only: nothing here writes.

Twilio knows what is live and (until a clear) what was deployed. Only the dashboard
knows who deployed it and why, what it expects to be live, and what it saw before a
clear deleted the history upstream. reconcile.py writes those records; this module
turns them into what a page says about each environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from deployments_app.services.reconcile import changed_outside, in_flight
from deployments_app.services.serverless_types import Environment

__all__ = [
    "Cleared",
    "EnvironmentNote",
    "OutsideChange",
    "RolledBack",
    "deployers",
    "durable_history",
    "environment_notes",
    "restorable_clear",
]

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome


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
class OutsideChange:
    """The environment runs something no action of ours put there."""

    previous_build_sid: str
    build_sid: str
    # When reconcile recorded it; None while it is seen but not yet in the audit.
    recorded_at: datetime | None
    entry: AuditEntry | None = None


@dataclass(frozen=True)
class EnvironmentNote:
    """What the dashboard knows about an environment that Twilio does not say."""

    rolled_back: RolledBack | None = None
    cleared: Cleared | None = None
    changed_outside: OutsideChange | None = None


def environment_notes(*, environments: Sequence[Environment]) -> dict[str, EnvironmentNote]:
    """A note for each environment, from our records and what Twilio shows now (3 queries)."""
    live = {env.sid: env for env in environments if env.sid}
    if not live:
        return {}
    now = timezone.now()
    states = {
        state.environment_sid: state
        for state in EnvironmentState.objects.filter(environment_sid__in=list(live)).select_related(
            "last_action", "external_change"
        )
    }
    # An open entry explains a change: an action in flight, or one that reconcile will
    # settle by what is live. Neither is a change made outside.
    explained: set[str] = set()
    for entry in AuditEntry.objects.filter(
        environment_sid__in=list(live), outcome__in=[Outcome.PENDING, Outcome.UNKNOWN]
    ):
        env = live[entry.environment_sid]
        if in_flight(entry, now) or (entry.build_sid or None) == env.build_sid:
            explained.add(entry.environment_sid)
    notes: dict[str, EnvironmentNote] = {}
    for sid, env in live.items():
        state = states.get(sid)
        if state is None or not state.known:
            notes[sid] = EnvironmentNote()
            continue
        unrecorded = None
        if sid not in explained and changed_outside(state, env, now):
            unrecorded = OutsideChange(
                previous_build_sid=state.expected_build_sid,
                build_sid=env.build_sid or "",
                recorded_at=None,
            )
        notes[sid] = _note(state, env, unrecorded)
    return notes


def _note(
    state: EnvironmentState, environment: Environment, unrecorded: OutsideChange | None
) -> EnvironmentNote:
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
    outside = unrecorded
    external = state.external_change
    if outside is None and external is not None and (last is None or _later(external, last)):
        outside = OutsideChange(
            previous_build_sid=external.previous_build_sid,
            build_sid=external.build_sid,
            recorded_at=external.created_at,
            entry=external,
        )
    return EnvironmentNote(rolled_back=rolled_back, cleared=cleared, changed_outside=outside)


def _later(entry: AuditEntry, other: AuditEntry) -> bool:
    return (entry.created_at, entry.pk) > (other.created_at, other.pk)


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


def restorable_clear(*, environment_sid: str) -> AuditEntry | None:
    """The successful clear whose earlier build can be restored, if the last action was one."""
    state = (
        EnvironmentState.objects.filter(environment_sid=environment_sid)
        .select_related("last_action")
        .first()
    )
    last = state.last_action if state else None
    if last and last.action == Action.CLEAR and last.previous_build_sid:
        return last
    return None
