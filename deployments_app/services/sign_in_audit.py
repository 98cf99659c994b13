"""Sign-in lockouts in the audit log, and the address a sign-in comes from.

django-axes counts failed sign-ins and locks out (dashboard/settings.py says when); this
module writes one audit entry when a lockout begins, from axes' `user_locked_out` signal
(connected in apps.py), and tells axes which address to count.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from deployments_app.models import AuditEntry

logger = logging.getLogger(__name__)

# The audit's column sizes.
_MAX_USERNAME = 150


# Django's own limit for a username; anything longer names no user.
USERNAME_MAX = 150


def sign_in_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username a sign-in tried, as axes records it: at most USERNAME_MAX characters."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw)[:USERNAME_MAX]


def sign_in_client_ip(request: HttpRequest) -> str | None:
    """The client's address: the socket's, or behind a proxy its one configured header.

    Only that header counts (any other is whatever the client sent). A list, as in
    X-Forwarded-For, gives its last address: the one the proxy itself appended.
    """
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    if header:
        values = [part.strip() for part in str(request.META.get(header, "")).split(",")]
        if values and _is_ip(values[-1]):
            return values[-1]
    remote = request.META.get("REMOTE_ADDR") or ""
    return remote if _is_ip(remote) else None


def lockout_record(
    *,
    sender: object,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> AuditEntry | None:
    """Audit a lockout as it begins (axes' `user_locked_out`), never each refusal after it.

    Axes sends the signal again for every attempt while locked out; those are not new
    lockouts, and an attacker's hammering must not flood the append-only log.
    """
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or failures > settings.AXES_FAILURE_LIMIT:
        return None
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    address = ip_address or "an unknown address"
    entry = AuditEntry.objects.create(
        action=AuditEntry.Action.LOCKOUT,
        actor=(username or "")[:_MAX_USERNAME],
        client_ip=ip_address if ip_address and _is_ip(ip_address) else None,
        via="web",
        service_sid="",
        environment_sid="",
        outcome=AuditEntry.Outcome.REFUSED,
        completed_at=timezone.now(),
        error_message=(
            f"{failures} failed sign-ins from {address}: sign-in locked out for "
            f"{minutes} min (an administrator can unlock it sooner)."
        ),
    )
    logger.warning("Sign-in locked out for %r from %s", username, address)
    return entry


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
