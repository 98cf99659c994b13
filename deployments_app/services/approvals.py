"""Deciding promotion requests: approve, reject, withdraw, retry, ratify, expire.

Every decision is one function that reads top to bottom: who may, what state the request
must be in, the change (a conditional UPDATE, so concurrent decisions cannot both win),
its audit step, and its mail. When a request has its approvals it executes at once
through services/deployments.py, the path the buttons take, bound to the approved plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import Approval, AuditEntry, EnvironmentPolicy, PromotionRequest
from deployments_app.services import deployments, policies, requests
from deployments_app.services.deployments import ActionError, Grant, PlanChanged

__all__ = [
    "DecisionOutcome",
    "DecisionRefused",
    "request_approve",
    "request_ratify",
    "request_reject",
    "request_retry",
    "request_withdraw",
    "requests_expire",
    "user_can_decide",
]

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
Status = PromotionRequest.Status
MAX_COMMENT_LENGTH = 1000


class DecisionRefused(Exception):
    """A decision that cannot be taken: who asked, or the state the request is in."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class DecisionOutcome:
    request: PromotionRequest
    message: str
    # The deployment's entry, when the decision executed the request.
    entry: AuditEntry | None = None
    # False when the decision stood but its deployment did not happen (voided, failed).
    went_through: bool = True


@dataclass(frozen=True)
class _Who:
    user: roles.User
    via: str = "web"
    client_ip: str | None = None

    @property
    def name(self) -> str:
        return self.user.get_username() if self.user.is_authenticated else ""


def user_can_decide(user: roles.User, request: PromotionRequest) -> bool:
    """Whether `user` may approve or reject this request (its policy's approvers)."""
    return policies.user_can_approve(user, _policy(request))


# --- decisions ----------------------------------------------------------------------------


def request_approve(
    *,
    request_id: int,
    actor: roles.User,
    comment: str = "",
    revision: int | None = None,
    via: str = "web",
    client_ip: str | None = None,
) -> DecisionOutcome:
    """One approval, of the plan's current revision; the last one needed executes it.

    `revision` is the plan the approver looked at (the request page posts it): if the
    plan changed since, they are asked to look again.
    """
    who = _Who(actor, via, client_ip)
    request = _open_request(request_id, who, Action.APPROVE)
    _require_approver(request, who, Action.APPROVE)
    if revision is not None and revision != request.revision:
        _refuse(
            request,
            who,
            Action.APPROVE,
            "The plan changed since you opened this request; review it again.",
            409,
        )
    approved_revision = request.revision
    policy = _policy(request)
    if request.requester_id == getattr(actor, "pk", None) and not (
        policy and policy.allow_self_approval
    ):
        _refuse(request, who, Action.APPROVE, "You cannot approve your own request.", 403)
    try:
        with transaction.atomic():
            Approval.objects.create(
                request=request,
                approver=roles.signed_in(actor),
                decision=Approval.Decision.APPROVE,
                revision=approved_revision,
                comment=comment.strip()[:MAX_COMMENT_LENGTH],
            )
    except IntegrityError:
        _refuse(request, who, Action.APPROVE, "You have already approved this request.", 409)
    given = _standing_approvals(request, approved_revision)
    requests.step_record(
        request,
        Action.APPROVE,
        actor=who.name,
        via=via,
        client_ip=client_ip,
        reason=comment,
        message=f"Approval {given} of {request.required_approvals}.",
    )
    if given < request.required_approvals:
        return DecisionOutcome(
            request=request,
            message=f"Approved: {given} of {request.required_approvals} approvals.",
        )
    # Of concurrent final approvals (or an approval racing a withdrawal or a void), one
    # wins, and only while the plan is still the revision these approvals were given for.
    if not _move(request, {Status.OPEN}, Status.EXECUTING, at_revision=approved_revision):
        request.refresh_from_db()
        return DecisionOutcome(
            request=request, message=f"Approved; the request is {request.shown_status_label}."
        )
    return _execute(request, who)


def request_reject(
    *,
    request_id: int,
    actor: roles.User,
    comment: str,
    via: str = "web",
    client_ip: str | None = None,
) -> DecisionOutcome:
    """One rejection ends the request."""
    who = _Who(actor, via, client_ip)
    request = _open_request(request_id, who, Action.REJECT)
    _require_approver(request, who, Action.REJECT)
    if not comment.strip():
        _refuse(request, who, Action.REJECT, "Say why you reject it: a comment is required.")
    if not _move(request, {Status.OPEN, Status.FAILED}, Status.REJECTED):
        _refuse(request, who, Action.REJECT, "The request was decided meanwhile.", 409)
    Approval.objects.create(
        request=request,
        approver=roles.signed_in(actor),
        decision=Approval.Decision.REJECT,
        comment=comment.strip()[:MAX_COMMENT_LENGTH],
    )
    requests.step_record(
        request,
        Action.REJECT,
        actor=who.name,
        via=via,
        client_ip=client_ip,
        reason=comment,
        message="Rejected.",
    )
    requests.notify(
        request,
        subject=f"Rejected by {who.name}",
        body=f"{who.name} rejected request #{request.pk}: {comment.strip()}",
        to=[request.requester],
    )
    return DecisionOutcome(request=request, message=f"Request #{request.pk} rejected.")


def request_withdraw(
    *, request_id: int, actor: roles.User, via: str = "web", client_ip: str | None = None
) -> DecisionOutcome:
    """The requester takes it back."""
    who = _Who(actor, via, client_ip)
    request = _get(request_id)
    if request.requester_id != getattr(actor, "pk", None):
        _refuse(request, who, Action.WITHDRAW, "Only the requester can withdraw it.", 403)
    if not _move(request, {Status.OPEN, Status.FAILED}, Status.WITHDRAWN):
        message = (
            "It was withdrawn already."
            if request.status == Status.WITHDRAWN
            else f"The request is {request.shown_status_label.lower()}; it cannot be withdrawn."
        )
        _refuse(request, who, Action.WITHDRAW, message, 409)
    requests.step_record(
        request, Action.WITHDRAW, actor=who.name, via=via, client_ip=client_ip, message="Withdrawn."
    )
    return DecisionOutcome(request=request, message=f"Request #{request.pk} withdrawn.")


def request_retry(
    *, request_id: int, actor: roles.User, via: str = "web", client_ip: str | None = None
) -> DecisionOutcome:
    """Run a failed execution again, with the approvals it has, while it is unexpired."""
    who = _Who(actor, via, client_ip)
    request = _get(request_id)
    _require_approver(request, who, Action.APPROVE)
    if request.status != Status.FAILED:
        _refuse(request, who, Action.APPROVE, "Only a failed execution can be retried.", 409)
    if request.expires_at <= timezone.now():
        _refuse(request, who, Action.APPROVE, "The request has expired; ask again.", 409)
    if not _claim(request, Status.FAILED):
        _refuse(request, who, Action.APPROVE, "The request is being executed already.", 409)
    return _execute(request, who)


def request_ratify(
    *,
    request_id: int,
    actor: roles.User,
    comment: str = "",
    via: str = "web",
    client_ip: str | None = None,
) -> DecisionOutcome:
    """An approver's review of a break-glass deployment, after the fact."""
    who = _Who(actor, via, client_ip)
    request = _get(request_id)
    _require_approver(request, who, Action.RATIFY)
    if not request.break_glass:
        _refuse(request, who, Action.RATIFY, "Only break-glass deployments are ratified.")
    if request.requester_id == getattr(actor, "pk", None):
        _refuse(request, who, Action.RATIFY, "Someone else must review your break-glass.", 403)
    ratified = PromotionRequest.objects.filter(pk=request.pk, ratified_at__isnull=True).update(
        ratified_by=roles.signed_in(actor), ratified_at=timezone.now()
    )
    if not ratified:
        _refuse(request, who, Action.RATIFY, "It was ratified already.", 409)
    request.refresh_from_db()
    requests.step_record(
        request,
        Action.RATIFY,
        actor=who.name,
        via=via,
        client_ip=client_ip,
        reason=comment,
        message="Break-glass deployment reviewed and ratified.",
    )
    return DecisionOutcome(request=request, message=f"Break-glass #{request.pk} ratified.")


def requests_expire() -> int:
    """Mark open requests past their lifetime expired (run by `manage.py reconcile`)."""
    expired = 0
    for request in PromotionRequest.objects.filter(
        status__in=[Status.OPEN, Status.FAILED], expires_at__lte=timezone.now()
    ):
        if _move(request, {Status.OPEN, Status.FAILED}, Status.EXPIRED):
            requests.step_record(
                request, Action.EXPIRE, actor="", via="system", message="Expired unapproved."
            )
            expired += 1
    return expired


# --- executing an approved request --------------------------------------------------------


def _execute(request: PromotionRequest, who: _Who) -> DecisionOutcome:
    """The approved action, through deployments.py, as the requester, bound to the plan."""
    try:
        outcome = _perform(request, Grant(request=request))
    except PlanChanged as changed:
        _void(request, who, changed)
        return DecisionOutcome(
            request=request,
            message=f"{changed.message} The approvals were voided; it needs approving again.",
            entry=changed.entry,
            went_through=False,
        )
    except ActionError as error:
        _move(request, {Status.EXECUTING}, Status.FAILED, execution_error=error.message)
        requests.notify(
            request,
            subject="Approved, but the deployment failed",
            body=f"Request #{request.pk}: {error.message}",
            to=[request.requester],
        )
        return DecisionOutcome(
            request=request,
            message=f"Approved, but it did not deploy: {error.message}",
            entry=error.entry,
            went_through=False,
        )
    _move(
        request,
        {Status.EXECUTING},
        Status.EXECUTED,
        executed_at=timezone.now(),
        deployment_sid=outcome.entry.deployment_sid,
    )
    requests.notify(
        request,
        subject="Approved and deployed",
        body=f"Request #{request.pk}: {outcome.message}",
        to=[request.requester],
    )
    return DecisionOutcome(
        request=request, message=f"Approved and deployed. {outcome.message}", entry=outcome.entry
    )


def _perform(request: PromotionRequest, grant: Grant) -> deployments.ActionOutcome:
    """The request's action, as its requester asked it, bound to the approved plan."""
    actor, service_sid, target = request.requester, request.service_sid, request.environment_sid
    match request.action:
        case Action.PROMOTE:
            return deployments.deployment_promote(
                actor=actor,
                service_sid=service_sid,
                source_environment_sid=request.source_environment_sid,
                target_environment_sid=target,
                reason=request.reason,
                via="approval",
                grant=grant,
            )
        case Action.REDEPLOY:
            return deployments.deployment_redeploy(
                actor=actor,
                service_sid=service_sid,
                environment_sid=target,
                build_sid=request.build_sid,
                reason=request.reason,
                via="approval",
                grant=grant,
            )
        case Action.RESTORE:
            return deployments.deployment_restore(
                actor=actor,
                service_sid=service_sid,
                environment_sid=target,
                via="approval",
                grant=grant,
            )
        case _:
            return deployments.environment_clear(
                actor=actor,
                service_sid=service_sid,
                environment_sid=target,
                confirmation=request.environment_name,
                via="approval",
                grant=grant,
            )


def _void(request: PromotionRequest, who: _Who, changed: PlanChanged) -> None:
    """The plan changed: the approvals no longer count, and the new plan needs its own."""
    now = timezone.now()
    with transaction.atomic():
        Approval.objects.filter(request=request, voided_at__isnull=True).update(
            voided_at=now, void_reason=changed.message
        )
        _move(
            request,
            {Status.EXECUTING},
            Status.OPEN,
            revision=F("revision") + 1,
            voided_reason=changed.message,
            live_build_sid=changed.live_build_sid,
            variables_fingerprint=changed.fingerprint,
        )
    requests.step_record(request, Action.VOID, actor=who.name, via=who.via, message=changed.message)
    requests.notify(
        request,
        subject="Approvals voided: the plan changed",
        body=f"Request #{request.pk}: {changed.message} It needs approving again.",
        to=[request.requester, *requests.approvers_of(_policy(request))],
    )


# --- shared steps -------------------------------------------------------------------------


def _get(request_id: int) -> PromotionRequest:
    request = PromotionRequest.objects.select_related("requester").filter(pk=request_id).first()
    if request is None:
        raise DecisionRefused("No such request.", status=404)
    return request


def _open_request(request_id: int, who: _Who, action: str) -> PromotionRequest:
    """The request, if it still waits for decisions; an expired one is marked so."""
    request = _get(request_id)
    if request.is_expired and _move(request, {Status.OPEN}, Status.EXPIRED):
        requests.step_record(
            request, Action.EXPIRE, actor="", via="system", message="Expired unapproved."
        )
    if request.status != Status.OPEN:
        _refuse(
            request,
            who,
            action,
            f"Request #{request.pk} is {request.shown_status_label.lower()}; "
            "it takes no more decisions.",
            409,
        )
    return request


def _require_approver(request: PromotionRequest, who: _Who, action: str) -> None:
    if not policies.user_can_approve(who.user, _policy(request)):
        _refuse(request, who, action, "Your role does not allow approving this request.", 403)


def _policy(request: PromotionRequest) -> EnvironmentPolicy | None:
    return policies.policy_for(
        service_sid=request.service_sid, environment_name=request.environment_name
    )


def _standing_approvals(request: PromotionRequest, revision: int) -> int:
    """Distinct people whose approval of this plan revision stands (not voided)."""
    return (
        Approval.objects.filter(
            request=request,
            decision=Approval.Decision.APPROVE,
            revision=revision,
            voided_at__isnull=True,
        )
        .values("approver")
        .distinct()
        .count()
    )


def _claim(request: PromotionRequest, current: str) -> bool:
    """Move to executing, if still `current`: the one winner of concurrent decisions."""
    return _move(request, {current}, Status.EXECUTING)


def _move(
    request: PromotionRequest,
    current: set[str],
    new: str,
    *,
    at_revision: int | None = None,
    **changes: object,
) -> bool:
    """A conditional UPDATE: only from `current` (and, if given, that plan revision)."""
    rows = PromotionRequest.objects.filter(pk=request.pk, status__in=list(current))
    if at_revision is not None:
        rows = rows.filter(revision=at_revision)
    moved = rows.update(status=new, **changes)
    request.refresh_from_db()
    return bool(moved)


def _refuse(
    request: PromotionRequest, who: _Who, action: str, message: str, status: int = 400
) -> NoReturn:
    """Audit the refused decision, then raise it."""
    requests.step_record(
        request,
        action,
        actor=who.name,
        via=who.via,
        client_ip=who.client_ip,
        outcome=Outcome.REFUSED,
        message=message,
    )
    raise DecisionRefused(message, status=status)
