"""The per-environment lock held while a deployment action to that environment is in flight.

It works across processes and workers: a database row (unique per environment), or a
Redis key when REDIS_URL is set. Each lock expires on its own (so a worker that dies
cannot block an environment for long) and is released only by its holder. It is taken
for the duration of one request, never across a user's think time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments_app.models import ACTION_LIFETIME_SECONDS, EnvironmentLock

# Longer than the slowest action: pre-reads, the POST's read timeout, the settle re-reads.
LOCK_SECONDS = ACTION_LIFETIME_SECONDS


class LockBusy(Exception):
    """Another deployment action to this environment is in flight."""


def _acquire_row(environment_sid: str, token: str, holder: str, seconds: int) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            # A lock left behind by a dead worker stops counting once it expires.
            EnvironmentLock.objects.filter(
                environment_sid=environment_sid, expires_at__lte=now
            ).delete()
            EnvironmentLock.objects.create(
                environment_sid=environment_sid,
                token=token,
                holder=holder,
                acquired_at=now,
                expires_at=now + timedelta(seconds=seconds),
            )
    except IntegrityError:
        raise LockBusy(environment_sid) from None


def _release_row(environment_sid: str, token: str) -> None:
    EnvironmentLock.objects.filter(environment_sid=environment_sid, token=token).delete()


_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _redis_key(environment_sid: str) -> str:
    return f"deployments:lock:{environment_sid}"


def _acquire_redis(environment_sid: str, token: str, seconds: int) -> None:
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    if not redis.set(_redis_key(environment_sid), token, nx=True, ex=seconds):
        raise LockBusy(environment_sid)


def _release_redis(environment_sid: str, token: str) -> None:
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    redis.eval(_RELEASE_IF_OWNER, 1, _redis_key(environment_sid), token)


def uses_redis() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


@contextmanager
def environment_lock(
    *, environment_sid: str, holder: str = "", seconds: int = LOCK_SECONDS
) -> Iterator[str]:
    """Hold the environment's lock for the block, or raise LockBusy at once."""
    token = secrets.token_hex(16)
    if uses_redis():
        _acquire_redis(environment_sid, token, seconds)
    else:
        _acquire_row(environment_sid, token, holder, seconds)
    try:
        yield token
    finally:
        if uses_redis():
            _release_redis(environment_sid, token)
        else:
            _release_row(environment_sid, token)
