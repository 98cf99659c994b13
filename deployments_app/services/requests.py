"""Promotion requests as records: creating them, their audit steps, and the mails they send.

deployments.py creates a request (or a break-glass record) when an action meets a
protected environment; approvals.py decides and executes them. Both write their steps
here, so every step is one append-only audit entry linked to its request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, EnvironmentPolicy, PromotionRequest

__all__ = [
    "approvers_of",
    "notify",
    "request_create",
    "request_url",
    "step_record",
]

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome


def request_create(
    *,
    fields: dict[str, object],
    requester: roles.User,
    policy: EnvironmentPolicy,
    live_build_sid: str,
    fingerprint: str,
    break_glass: bool = False,
) -> PromotionRequest:
    """The request for the action an audit entry describes (its `fields`)."""
    now = timezone.now()
    return PromotionRequest.objects.create(
        created_at=now,
        expires_at=now + timedelta(hours=policy.request_lifetime_hours),
        status=PromotionRequest.Status.EXECUTING if break_glass else PromotionRequest.Status.OPEN,
        requester=roles.signed_in(requester),
        via=str(fields["via"]),
        action=str(fields["action"]),
        reason=str(fields["reason"]),
        service_sid=str(fields["service_sid"]),
        service_name=str(fields.get("service_name", "")),
        environment_sid=str(fields["environment_sid"]),
        environment_name=str(fields.get("environment_name", "")),
        source_environment_sid=str(fields.get("source_environment_sid", "")),
        source_environment_name=str(fields.get("source_environment_name", "")),
        build_sid=str(fields.get("build_sid", "")),
        live_build_sid=live_build_sid,
        variables_fingerprint=fingerprint,
        required_approvals=policy.required_approvals,
        break_glass=break_glass,
    )


def step_record(
    request: PromotionRequest,
    action: str,
    *,
    actor: str,
    message: str,
    outcome: str = Outcome.SUCCEEDED,
    reason: str = "",
    via: str = "web",
    client_ip: str | None = None,
) -> AuditEntry:
    """One step of a request (requested, approved, voided, …) as a completed audit entry."""
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        via=via,
        client_ip=client_ip,
        service_sid=request.service_sid,
        service_name=request.service_name,
        environment_sid=request.environment_sid,
        environment_name=request.environment_name,
        source_environment_sid=request.source_environment_sid,
        source_environment_name=request.source_environment_name,
        build_sid=request.build_sid,
        previous_build_sid=request.live_build_sid,
        outcome=outcome,
        completed_at=timezone.now(),
        error_message=message[:2000],
        reason=reason[:1000],
        request=request,
    )


def approvers_of(policy: EnvironmentPolicy | None) -> list[roles.User]:
    """Who may approve under this policy: the approver group's members, or all approvers."""
    users = get_user_model()._default_manager.filter(is_active=True)
    if policy is not None and policy.approver_group_id:
        users = users.filter(Q(groups=policy.approver_group_id) | Q(is_superuser=True))
    else:
        codename = roles.APPROVE_PERMISSION.split(".", 1)[1]
        users = users.filter(
            Q(groups__permissions__codename=codename)
            | Q(user_permissions__codename=codename)
            | Q(is_superuser=True)
        )
    return list(users.distinct())


def request_url(request: PromotionRequest) -> str:
    return settings.DASHBOARD_URL + reverse("request", args=[request.pk])


def notify(request: PromotionRequest, *, subject: str, body: str, to: Iterable[roles.User]) -> int:
    """Mail the people concerned; a mail that cannot be sent never stops the action."""
    addresses = sorted({email for user in to if (email := getattr(user, "email", ""))})
    if not addresses:
        return 0
    text = f"{body}\n\n{request_url(request)}\n"
    messages = [
        (f"[{request.environment_name}] {subject}", text, settings.DEFAULT_FROM_EMAIL, [address])
        for address in addresses
    ]
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:  # any mail backend failure: logged, the action stands
        logger.exception("Could not send the notification for request %s", request.pk)
        return 0
