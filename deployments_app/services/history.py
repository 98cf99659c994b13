"""What a deployment history says: the one definition of "live since", "the build before",
and which way a promotion moves its target.

Pure functions over the client's Deployment results. Twilio does not document the order
of the Deployments list, so every answer here sorts by (date_created, sid), newest first:
two deployments in the same second are told apart by their SID, the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum

from .serverless_types import Deployment

__all__ = [
    "Direction",
    "builds_ran",
    "live_since_and_previous",
    "newest_first",
    "newest_of",
    "promotion_direction",
]

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _key(deployment: Deployment) -> tuple[datetime, str]:
    return (deployment.date_created or _OLDEST, deployment.sid)


def newest_first(history: Iterable[Deployment]) -> list[Deployment]:
    return sorted(history, key=_key, reverse=True)


def newest_of(history: Iterable[Deployment], build_sid: str | None) -> Deployment | None:
    """The newest deployment of `build_sid` (None: the newest clear), whatever the order."""
    matching = [d for d in history if d.build_sid == build_sid]
    return max(matching, key=_key) if matching else None


def live_since_and_previous(
    history: Iterable[Deployment], live_build_sid: str | None
) -> tuple[Deployment | None, str | None]:
    """The deployment that made `live_build_sid` live, and the build live before it.

    The build before is what the deployment just before it (skipping redeploys of the
    same build) put live: None when that was a clear, or when there is none.
    """
    if not live_build_sid:
        return None, None
    ordered = newest_first(history)
    live_index = next((i for i, d in enumerate(ordered) if d.build_sid == live_build_sid), None)
    if live_index is None:
        return None, None
    previous = next(
        (d.build_sid for d in ordered[live_index + 1 :] if d.build_sid != live_build_sid), None
    )
    return ordered[live_index], previous


def builds_ran(history: Iterable[Deployment]) -> tuple[str, ...]:
    """Every build the environment ran, newest first, each once (a clear is not a build)."""
    seen: dict[str, None] = {}
    for deployment in newest_first(history):
        if deployment.build_sid:
            seen.setdefault(deployment.build_sid, None)
    return tuple(seen)


def builds_behind(
    *,
    source_ran: Collection[str],
    target_ran: Collection[str],
    target_build_sid: str | None,
    created: Mapping[str, datetime | None],
) -> int:
    """How many builds the source ran that the target never ran and that are newer than
    the target's live build (all of them when the target runs nothing): the builds a
    promotion would skip over or bring. At least 1 when called for a target that is behind
    (the source's live build is one of them, even if its history was not read)."""
    live_date = created.get(target_build_sid or "")
    newer = [
        sid
        for sid in source_ran
        if sid not in target_ran
        and (live_date is None or (created.get(sid) or live_date) > live_date)
    ]
    return max(1, len(newer))


class Direction(StrEnum):
    """Which way promoting the source's build moves the target."""

    SAME = "same"  # the target runs it already
    FORWARD = "forward"  # to a newer build (or into an empty environment)
    BACKWARD = "backward"  # back to an older build
    UNKNOWN = "unknown"  # neither the builds' dates nor the target's history tell


def promotion_direction(
    *,
    source_build_sid: str | None,
    target_build_sid: str | None,
    created: Mapping[str, datetime | None],
    target_ran: Collection[str] = (),
) -> Direction:
    """Whether deploying the source's build to the target moves the target forward or back.

    Builds are ordered by when Twilio created them (`created`, their `date_created` by
    SID): a build is a service's code at one moment, so an older build is older code,
    whatever the order the environments ran them in. A rolled-back source runs an older
    build than a target that kept the newer one, and promoting it moves the target back.
    When the dates cannot tell (one is unknown, or both fall in the same second), the
    target's history can: a build it ran before (`target_ran`, see `builds_ran`) and left
    for the one it runs now is a step back.
    """
    if not source_build_sid:
        return Direction.UNKNOWN
    if source_build_sid == target_build_sid:
        return Direction.SAME
    if not target_build_sid:
        return Direction.FORWARD
    source_date, target_date = created.get(source_build_sid), created.get(target_build_sid)
    if source_date is not None and target_date is not None and source_date != target_date:
        return Direction.FORWARD if source_date > target_date else Direction.BACKWARD
    if source_build_sid in target_ran:
        return Direction.BACKWARD
    return Direction.UNKNOWN
