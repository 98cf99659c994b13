"""/healthz: can this process serve? The database, the cache and Twilio, checked cheaply.

No secrets and no data in the answer: each check says ok or what failed, in words the
client's typed errors already keep free of credentials. Twilio's answer is kept a few
seconds, so a load balancer probing every second costs Twilio one call per interval.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import DatabaseError, connection

from deployments_app.services.serverless import get_client
from deployments_app.services.serverless_errors import ServerlessError

UPSTREAM_CHECK_SECONDS = 15
_UPSTREAM_KEY = "healthz:upstream"


@dataclass(frozen=True)
class Health:
    database: str
    cache: str
    upstream: str

    @property
    def serving(self) -> bool:
        """Pages and actions need the database and the cache; Twilio down still serves the
        dashboard's records and clear messages, so it degrades rather than fails."""
        return self.database == "ok" and self.cache == "ok"

    def as_json(self) -> dict[str, object]:
        status = "ok" if self.serving and self.upstream == "ok" else "degraded"
        if not self.serving:
            status = "failing"
        checks = {"database": self.database, "cache": self.cache, "upstream": self.upstream}
        return {"status": status, "checks": checks}


def health_check() -> Health:
    return Health(database=_database(), cache=_cache(), upstream=_upstream())


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _cache() -> str:
    key = "healthz:probe"
    value = str(time.monotonic_ns())
    try:
        cache.set(key, value, timeout=30)
        if cache.get(key) != value:
            return "unavailable (a value written was not read back)"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _upstream() -> str:
    try:
        found = cache.get(_UPSTREAM_KEY)
    except Exception:
        found = None
    if isinstance(found, str):
        return found
    try:
        get_client().service_page(page_size=1)
        result = "ok"
    except ServerlessError as exc:
        result = f"unreachable ({exc.user_message})"
    with contextlib.suppress(Exception):  # the cache check reports it
        cache.set(_UPSTREAM_KEY, result, timeout=UPSTREAM_CHECK_SECONDS)
    return result
