"""Environment policies read for a decision: protection, freezes, order, who approves.

Reads only (the database and, for the variables fingerprint, values already read by the
caller). The actions in deployments.py and the requests in approvals.py ask here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import EnvironmentPolicy, PromotionRequest
from deployments_app.models.approvals import standing_approvals
from deployments_app.services.serverless_types import Environment, Variable

__all__ = [
    "Freeze",
    "Gate",
    "active_freeze",
    "environment_gates",
    "policies_for",
    "policy_for",
    "user_can_approve",
    "user_can_break_glass",
    "variables_fingerprint",
]


@dataclass(frozen=True)
class Freeze:
    """A freeze window in force: why, and when deployments resume."""

    reason: str
    until: datetime
    time_zone: str

    def message(self, environment_name: str) -> str:
        local = self.until.astimezone(ZoneInfo(self.time_zone))
        utc = "" if self.time_zone == "UTC" else f" ({self.until.astimezone(UTC):%H:%M} UTC)"
        return (
            f"{environment_name} is frozen: {self.reason}. Deployments resume "
            f"{local:%a %Y-%m-%d %H:%M} {self.time_zone}{utc}."
        )


def policy_for(*, service_sid: str, environment_name: str) -> EnvironmentPolicy | None:
    return (
        EnvironmentPolicy.objects.filter(service_sid=service_sid, environment_name=environment_name)
        .select_related("approver_group")
        .prefetch_related("freeze_windows")
        .first()
    )


def policies_for(*, service_sids: Sequence[str]) -> dict[tuple[str, str], EnvironmentPolicy]:
    """(service SID, environment name) → policy, for a page of services (2 queries)."""
    policies = EnvironmentPolicy.objects.filter(service_sid__in=list(service_sids))
    return {
        (p.service_sid, p.environment_name): p
        for p in policies.select_related("approver_group").prefetch_related("freeze_windows")
    }


def active_freeze(policy: EnvironmentPolicy | None, now: datetime | None = None) -> Freeze | None:
    """The freeze in force now, if any; of overlapping windows, the one that ends last."""
    if policy is None:
        return None
    now = now or timezone.now()
    found: Freeze | None = None
    for window in policy.freeze_windows.all():
        until = window.active_until(now, policy.zone)
        if until is not None and (found is None or until > found.until):
            found = Freeze(reason=window.reason, until=until, time_zone=policy.time_zone)
    return found


def user_can_approve(user: roles.User, policy: EnvironmentPolicy | None) -> bool:
    """An approver (the permission), and in the policy's approver group when it names one."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not user.has_perm(roles.APPROVE_PERMISSION):
        return False
    group = policy.approver_group if policy else None
    return group is None or user.groups.filter(pk=group.pk).exists()


def user_can_break_glass(user: roles.User) -> bool:
    return bool(user.is_authenticated and user.has_perm(roles.BREAK_GLASS_PERMISSION))


def variables_fingerprint(variables: Iterable[Variable]) -> str:
    """A keyed digest of an environment's variables: equal iff keys and values are equal.

    Keyed with the secret key, so the digest (stored on a request) says nothing about
    the values; the values themselves are never stored, shown or logged.
    """
    key = hmac.new(settings.SECRET_KEY.encode(), b"variables-fingerprint", hashlib.sha256)
    digest = hmac.new(key.digest(), digestmod=hashlib.sha256)
    for variable in sorted(variables, key=lambda v: v.key or ""):
        for part in (variable.key or "", variable.value or ""):
            encoded = part.encode()
            # Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            digest.update(len(encoded).to_bytes(4, "big") + encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class Gate:
    """What the policy and the requests say about an environment, for its cell and page."""

    policy: EnvironmentPolicy | None = None
    freeze: Freeze | None = None
    # The request awaiting approval here, and how many approvals stand on it.
    waiting: PromotionRequest | None = None
    approvals_given: int = 0
    # A break-glass deployment here that no approver has ratified yet.
    break_glass: PromotionRequest | None = None

    @property
    def protected(self) -> bool:
        return bool(self.policy and self.policy.protected)

    @property
    def execution_failed(self) -> bool:
        """Approved, but its deployment failed: an approver may retry it."""
        return self.waiting is not None and self.waiting.status == PromotionRequest.Status.FAILED


def environment_gates(*, environments: Sequence[Environment]) -> dict[str, Gate]:
    """A gate for each environment (4 queries for any number of environments)."""
    if not environments:
        return {}
    found = policies_for(service_sids=sorted({e.service_sid or "" for e in environments}))
    sids = [e.sid for e in environments]
    now = timezone.now()
    waiting: dict[str, PromotionRequest] = {}
    for found_request in (
        PromotionRequest.objects.filter(
            environment_sid__in=sids,
            status__in=[PromotionRequest.Status.OPEN, PromotionRequest.Status.FAILED],
            expires_at__gt=now,
            break_glass=False,
        )
        .annotate(given=standing_approvals())
        .order_by("created_at")
    ):
        waiting.setdefault(found_request.environment_sid, found_request)
    unratified = {
        r.environment_sid: r
        for r in PromotionRequest.objects.filter(
            environment_sid__in=sids, break_glass=True, ratified_at__isnull=True
        ).order_by("created_at")
    }
    gates = {}
    for env in environments:
        policy = found.get((env.service_sid or "", env.unique_name or ""))
        request = waiting.get(env.sid)
        gates[env.sid] = Gate(
            policy=policy,
            freeze=active_freeze(policy, now),
            waiting=request,
            approvals_given=getattr(request, "given", 0) if request else 0,
            break_glass=unratified.get(env.sid),
        )
    return gates
