"""The pages' cache, softened: an unreachable Redis is a miss, never a failed page.

Pages can always read Twilio instead (slower, and within its rate limit), so while the
cache is away they do. Only what is kept for speed goes through here: the lock never does
(it fails closed, services/locks.py), nor /healthz (it reports the cache's state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache as _cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# One warning per this many seconds while the cache is away, not one per read.
_WARN_EVERY = 30.0
_warned_at = 0.0


def _unavailable(exc: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= _WARN_EVERY:
        _warned_at = now
        logger.warning("The cache is unavailable (%s); reading Twilio directly", type(exc).__name__)


class _SoftCache:
    def get(self, key: str, default: Any = None) -> Any:
        try:
            return _cache.get(key, default)
        except RedisError as exc:
            _unavailable(exc)
            return default

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        try:
            return _cache.get_many(keys)
        except RedisError as exc:
            _unavailable(exc)
            return {}

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        try:
            _cache.set(key, value, timeout=timeout)
        except RedisError as exc:
            _unavailable(exc)

    def set_many(self, data: Mapping[str, Any], timeout: float | None = None) -> None:
        try:
            _cache.set_many(dict(data), timeout=timeout)
        except RedisError as exc:
            _unavailable(exc)


cache = _SoftCache()
