"""The per-environment lock held while a deployment action to that environment is in flight.

It works across processes and workers: a database row (unique per environment), or a
Redis key when REDIS_URL is set (redis-py's `Lock`, on a client of its own for that URL).
Each lock expires on its own (so a worker that dies cannot block an environment for
long) and is released only by its holder. It is taken for the duration of one request,
never across a user's think time.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from deployments_app.models import ACTION_LIFETIME_SECONDS, EnvironmentLock

logger = logging.getLogger(__name__)

# Longer than the slowest action: pre-reads, the POST's read timeout, the settle re-reads.
LOCK_SECONDS = ACTION_LIFETIME_SECONDS


class LockBusy(Exception):
    """Another deployment action to this environment is in flight."""


class LockUnavailable(Exception):
    """The lock could not be taken at all (Redis unreachable): nothing may deploy."""


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


# Seconds a Redis command may take: the lock is taken while a person waits for the page.
_REDIS_TIMEOUT = 2.0


@functools.cache
def _redis(url: str) -> redis.Redis:
    # One client (and connection pool) per URL and process; redis-py reconnects after fork.
    return redis.Redis.from_url(
        url, socket_connect_timeout=_REDIS_TIMEOUT, socket_timeout=_REDIS_TIMEOUT
    )


def _redis_lock(environment_sid: str, seconds: int) -> Lock:
    # The key holds the holder's token and expires on its own; release deletes it only
    # while it still holds that token (redis-py's Lua script).
    return Lock(
        _redis(settings.REDIS_URL),
        f"deployments:lock:{environment_sid}",
        timeout=seconds,
        thread_local=False,
    )


def _acquire_redis(lock: Lock, environment_sid: str, token: str) -> None:
    try:
        taken = lock.acquire(blocking=False, token=token)
    except redis.RedisError as exc:
        # Its message names the host, never a password (redis-py masks the URL).
        raise LockUnavailable(type(exc).__name__) from None
    if not taken:
        raise LockBusy(environment_sid)


def _release_redis(lock: Lock, environment_sid: str) -> None:
    try:
        lock.release()
    except LockNotOwnedError:
        # It expired while the action ran, and maybe another holder has it now: theirs.
        logger.warning("The lock of %s expired before its action finished", environment_sid)
    except redis.RedisError as exc:
        # The key expires on its own; the action's outcome is already recorded.
        logger.warning("Could not release the lock of %s: %s", environment_sid, type(exc).__name__)


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


@contextmanager
def environment_lock(
    *, environment_sid: str, holder: str = "", seconds: int = LOCK_SECONDS
) -> Iterator[str]:
    """Hold the environment's lock for the block, or raise LockBusy at once."""
    token = secrets.token_hex(16)
    release: Callable[[], None]
    if uses_redis():
        lock = _redis_lock(environment_sid, seconds)
        _acquire_redis(lock, environment_sid, token)
        release = functools.partial(_release_redis, lock, environment_sid)
    else:
        _acquire_row(environment_sid, token, holder, seconds)
        release = functools.partial(_release_row, environment_sid, token)
    try:
        yield token
    finally:
        release()
