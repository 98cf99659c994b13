"""What a deployment history says: the one definition of "live since" and "the build before".

Pure functions over the client's Deployment results. Twilio does not document the order
of the Deployments list, so every answer here sorts by (date_created, sid), newest first:
two deployments in the same second are told apart by their SID, the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from .serverless_types import Deployment

__all__ = ["live_since_and_previous", "newest_first", "newest_of"]

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
