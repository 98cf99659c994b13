"""Promote, redeploy (roll back), restore and clear: the one path every deployment takes.

Each action is one function that reads top to bottom, and one pass:

1. the user's permission and the input (SIDs), before anything is read;
2. the environment's lock (services/locks.py), so that what is read next stays true;
3. one read of the state the rules need (service, target, source, build), concurrently;
4. every rule of the action, on that state; a refusal is audited and nothing is written;
5. a `pending` audit entry, then exactly one `deployment_create` (the client settles an
   ambiguous answer by re-reading the environment);
6. the entry completed with the true outcome and our records updated (reconcile.py),
   in one transaction.

Buttons, management commands and (later) approved requests all come through here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn, TypedDict, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentPolicy, PromotionRequest
from deployments_app.services import page_cache, policies, reconcile, records, requests
from deployments_app.services.history import Direction, builds_ran, promotion_direction
from deployments_app.services.locks import LockBusy, LockUnavailable, environment_lock
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_config import ClientConfig
from deployments_app.services.serverless_errors import (
    AlreadyDeployed,
    DeploymentOutcomeUnknown,
    NotFound,
    ServerlessError,
)
from deployments_app.services.serverless_types import Build, Deployment, Environment, Service
from deployments_app.services.soak import soak_refusal
from deployments_app.sids import is_sid

__all__ = [
    "ActionError",
    "ActionFailed",
    "ActionOutcome",
    "ActionRefused",
    "Grant",
    "PlanChanged",
    "action_refuse_input",
    "deployment_promote",
    "deployment_redeploy",
    "deployment_restore",
    "environment_clear",
    "user_can_clear",
    "user_can_deploy",
    "user_may",
]

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
User = roles.User
T = TypeVar("T")

MAX_REASON_LENGTH = 1000


class ActionError(Exception):
    """An action that did not happen, with a message for the page and an HTTP status."""

    status = 400

    def __init__(self, message: str, *, entry: AuditEntry | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.entry = entry


class ActionRefused(ActionError):
    """Refused before anything was written upstream (bad input, a rule, a permission)."""

    def __init__(self, message: str, *, status: int = 400, entry: AuditEntry | None = None) -> None:
        super().__init__(message, entry=entry)
        self.status = status


class ActionFailed(ActionError):
    """Twilio failed the action, or its outcome could not be established."""

    status = 502


class PlanChanged(ActionRefused):
    """An approved request whose plan no longer holds: its approvals must be given again."""

    def __init__(
        self, message: str, *, entry: AuditEntry, live_build_sid: str, fingerprint: str
    ) -> None:
        super().__init__(message, status=409, entry=entry)
        self.live_build_sid = live_build_sid
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class Grant:
    """What lets a protected environment change now, besides the user's role."""

    # An approved request being executed (approvals.py): its plan must still hold.
    request: PromotionRequest | None = None
    # Break-glass: at once, with a reason; during a freeze only with a second confirmation.
    break_glass: bool = False
    freeze_confirmed: bool = False


@dataclass(frozen=True)
class ActionOutcome:
    entry: AuditEntry
    # The deployment the action made (None for a no-op, or when Twilio's answer was lost
    # and the re-read confirmed the change without finding it in the history).
    deployment: Deployment | None = None
    # Twilio's answer to the POST was lost and re-reading the environment confirmed it.
    confirmed_by_reread: bool = False
    # The request made instead of a deployment (a protected environment), or executed.
    request: PromotionRequest | None = None

    @property
    def changed(self) -> bool:
        return self.entry.outcome == Outcome.SUCCEEDED

    @property
    def message(self) -> str:
        entry = self.entry
        if entry.action == Action.REQUEST and self.request is not None:
            request = self.request
            return (
                f"{entry.environment_name} is protected: request #{request.pk} is awaiting "
                f"approval (0 of {request.required_approvals})."
            )
        if entry.outcome == Outcome.NOOP:
            if entry.action == Action.CLEAR:
                return f"{entry.environment_name} is already clear; nothing changed."
            return (
                f"{entry.build_sid} is already live in {entry.environment_name}; nothing changed."
            )
        if entry.action == Action.CLEAR:
            return f"Cleared {entry.environment_name} (deployment {entry.deployment_sid or '?'})."
        verb = {
            Action.PROMOTE: "Promoted",
            Action.REDEPLOY: "Rolled back to",
            Action.RESTORE: "Restored",
        }[Action(entry.action)]
        deployment = entry.deployment_sid or "confirmed by re-reading the environment"
        return f"{verb} {entry.build_sid} in {entry.environment_name}: deployment {deployment}."


# --- what a user may do ------------------------------------------------------------------


def user_can_deploy(user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm(roles.DEPLOY_PERMISSION))


def user_can_clear(user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm(roles.CLEAR_PERMISSION))


def user_may(*, action: str, user: User | None) -> bool:
    """Whether the user's role allows this action at all: the one rule for its dialog and POST.

    Clearing is its own permission; promote, redeploy and restore are deploying.
    """
    if user is None:
        return False
    if action == Action.CLEAR:
        return user_can_clear(user)
    if action in (Action.PROMOTE, Action.REDEPLOY, Action.RESTORE):
        return user_can_deploy(user)
    raise ValueError(f"{action!r} is not a deployment action")


# --- the actions ---------------------------------------------------------------------------


def deployment_promote(
    *,
    actor: User,
    service_sid: str,
    source_environment_sid: str,
    target_environment_sid: str,
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
    grant: Grant | None = None,
) -> ActionOutcome:
    """Deploy what is live in the source environment to the target environment."""
    audit = _Audit.begin(
        Action.PROMOTE,
        actor=actor,
        client_ip=client_ip,
        via=via,
        grant=grant,
        service_sid=service_sid,
        environment_sid=target_environment_sid,
        source_environment_sid=source_environment_sid,
        reason=reason,
    )
    audit.require_permission()
    audit.require_sids(
        service=service_sid,
        environment=target_environment_sid,
        source_environment=source_environment_sid,
    )
    if source_environment_sid == target_environment_sid:
        raise audit.refuse("The target environment is the source environment.")
    client = get_client()
    with audit.locked(client):
        state = _read_state(audit, client, source_environment_sid=source_environment_sid)
        target, source = state.target, state.source
        assert source is not None
        if not source.build_sid:
            raise audit.refuse(
                f"Nothing is live in {_name(source)}, so there is nothing to promote."
            )
        audit.plan(build_sid=source.build_sid, live_before=target.build_sid)
        if target.build_sid == source.build_sid:
            return audit.noop()
        # The build is known only now: a second round trip, with the target's live build
        # (its date tells whether this moves the target back).
        build_sid = source.build_sid
        build, live = audit.read(
            lambda: client.read_many(
                lambda sid: _build_or_none(client, service_sid, sid) if sid else None,
                [build_sid, target.build_sid or ""],
            )
        )
        _require_deployable(audit, build, build_sid)
        _require_reason_to_go_back(audit, client, target, build, live)
        return _guarded_deploy(audit, client, target)


def deployment_redeploy(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    build_sid: str,
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
    grant: Grant | None = None,
) -> ActionOutcome:
    """Roll back: redeploy a build from this environment's history."""
    audit = _Audit.begin(
        Action.REDEPLOY,
        actor=actor,
        client_ip=client_ip,
        via=via,
        grant=grant,
        service_sid=service_sid,
        environment_sid=environment_sid,
        build_sid=build_sid,
        reason=reason,
    )
    audit.require_permission()
    audit.require_sids(service=service_sid, environment=environment_sid, build=build_sid)
    client = get_client()
    with audit.locked(client):
        state = _read_state(audit, client, build_sid=build_sid, look_in_history=True)
        target = state.target
        audit.plan(build_sid=build_sid, live_before=target.build_sid)
        if target.build_sid == build_sid:
            return audit.noop()
        _require_deployable(audit, state.build, build_sid)
        if not state.in_history:
            raise audit.refuse(
                f"Build {build_sid} was never deployed to {_name(target)}; "
                "promote it instead of rolling back to it."
            )
        return _guarded_deploy(audit, client, target)


def deployment_restore(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
    grant: Grant | None = None,
) -> ActionOutcome:
    """Redeploy the build that was live before the environment was cleared.

    A clear deletes the history upstream, so the build is vouched for by our own record
    of the clear, not by Twilio's history.
    """
    audit = _Audit.begin(
        Action.RESTORE,
        actor=actor,
        client_ip=client_ip,
        via=via,
        grant=grant,
        service_sid=service_sid,
        environment_sid=environment_sid,
        reason=reason,
    )
    audit.require_permission()
    audit.require_sids(service=service_sid, environment=environment_sid)
    client = get_client()
    with audit.locked(client):
        clear = records.restorable_clear(environment_sid=environment_sid)
        build_sid = clear.previous_build_sid if clear else ""
        target = (state := _read_state(audit, client, build_sid=build_sid)).target
        audit.plan(build_sid=build_sid, live_before=target.build_sid)
        if not build_sid:
            raise audit.refuse(
                "There is nothing to restore: the last action here was not a clear.", status=409
            )
        if target.build_sid:
            # Someone deployed since the clear (maybe outside the dashboard): restoring
            # would silently replace their build.
            raise audit.refuse(
                f"{_name(target)} runs {target.build_sid} now; restore is only for the "
                "empty environment a clear left. Use Redeploy instead.",
                status=409,
            )
        _require_deployable(audit, state.build, build_sid)
        return _guarded_deploy(audit, client, target)


def environment_clear(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    confirmation: str,
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
    grant: Grant | None = None,
) -> ActionOutcome:
    """Deploy nothing: the environment's functions and assets answer 404 afterwards."""
    audit = _Audit.begin(
        Action.CLEAR,
        actor=actor,
        client_ip=client_ip,
        via=via,
        grant=grant,
        service_sid=service_sid,
        environment_sid=environment_sid,
        reason=reason,
    )
    audit.require_permission()
    audit.require_sids(service=service_sid, environment=environment_sid)
    client = get_client()
    with audit.locked(client):
        target = _read_state(audit, client).target
        if confirmation.strip() != (target.unique_name or ""):
            raise audit.refuse(
                f"Type the environment's name, {target.unique_name}, to confirm the clear."
            )
        audit.plan(build_sid=None, live_before=target.build_sid)
        if not target.build_sid:
            return audit.noop()
        # The clear deletes the history upstream: keep every deployment of it first.
        history = audit.read(
            lambda: list(
                client.deployment_iter(
                    service_sid=service_sid, environment_sid=environment_sid, page_size=1000
                )
            )
        )
        reconcile.history_record(
            service_sid=service_sid, environment_sid=environment_sid, deployments=history
        )
        return _guarded_deploy(audit, client, target)


def action_refuse_input(
    *,
    action: str,
    actor: User,
    submitted: dict[str, str],
    message: str,
    client_ip: str | None = None,
    via: str = "web",
) -> NoReturn:
    """Refuse an action whose input did not parse, and audit the attempt as it came."""
    audit = _Audit.begin(
        action,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=submitted.get("service", ""),
        environment_sid=submitted.get("environment") or submitted.get("target", ""),
        source_environment_sid=submitted.get("source", ""),
        build_sid=submitted.get("build", ""),
        reason=submitted.get("reason", ""),
    )
    audit.require_permission()
    raise audit.refuse(message)


# --- the rules the actions share ----------------------------------------------------------


def _require_deployable(audit: _Audit, build: Build | None, build_sid: str) -> None:
    """Only a completed build of this service can go live."""
    if build is None or (build.service_sid is not None and build.service_sid != audit.service_sid):
        raise audit.refuse(f"Build {build_sid} does not belong to this service.")
    if not build.is_completed:
        raise audit.refuse(
            f"Build {build.sid} is {build.status or 'in an unknown state'}, not completed; "
            "only completed builds can be deployed."
        )


def _require_reason_to_go_back(
    audit: _Audit,
    client: ServerlessClient,
    target: Environment,
    build: Build | None,
    live: Build | None,
) -> None:
    """A promotion that moves the target back to an older build must say why.

    After a rollback of the source, its Promote would undo the target's newer build; that
    can be right (the same fault is there too), but never by accident. Which way it goes
    is history.promotion_direction's one definition, as the overview and the dialog show
    it: the builds' dates, and the target's history only when they cannot tell.
    """
    if audit.fields["reason"] or build is None or not target.build_sid:
        return
    created = {b.sid: b.date_created for b in (build, live) if b is not None}

    def direction(target_ran: Collection[str] = ()) -> Direction:
        return promotion_direction(
            source_build_sid=build.sid,
            target_build_sid=target.build_sid,
            created=created,
            target_ran=target_ran,
        )

    found = direction()
    if found == Direction.UNKNOWN:
        found = direction(
            audit.read(
                lambda: builds_ran(
                    client.deployment_iter(
                        service_sid=audit.service_sid,
                        environment_sid=target.sid,
                        page_size=1000,
                    )
                )
            )
        )
    if found == Direction.BACKWARD:
        raise audit.refuse(
            f"Reason: required, because this moves {_name(target)} back to an older build "
            f"({_created_line(build)} ← {_created_line(live) if live else target.build_sid})."
        )


def _created_line(build: Build) -> str:
    when = f" created {build.date_created:%Y-%m-%d %H:%M} UTC" if build.date_created else ""
    return f"{build.sid}{when}"


# --- the environment's policy: freeze, promotion order, approvals ----------------------------


def _guarded_deploy(audit: _Audit, client: ServerlessClient, target: Environment) -> ActionOutcome:
    """Deploy, unless the environment's policy says to wait, refuse, or ask approvers."""
    grant = audit.grant
    name = _name(target)
    policy = policies.policy_for(service_sid=audit.service_sid, environment_name=name)
    if policy is None:
        return _deploy(audit, client)
    freeze = policies.active_freeze(policy)
    if freeze is not None and not (grant.break_glass and grant.freeze_confirmed):
        message = freeze.message(name)
        if grant.break_glass:
            message += " Break-glass during a freeze needs its second confirmation."
        raise audit.refuse(message, status=409)
    if audit.fields["action"] == Action.PROMOTE and policy.promote_from:
        _require_promotion_order(audit, client, policy, name)
    if audit.fields["action"] == Action.PROMOTE and policy.soak_minutes and not grant.break_glass:
        _require_soak(audit, client, policy)
    if not policy.protected:
        return _deploy(audit, client)
    fingerprint = audit.read(
        lambda: policies.variables_fingerprint(
            client.variable_list(service_sid=audit.service_sid, environment_sid=target.sid)
        )
    )
    if grant.request is not None:
        # The environment read last, right before the POST: an outside deployment during
        # the reads above is seen. (Twilio has no conditional deploy; one that lands in the
        # last round trip is found by the next reconcile, not prevented.)
        target = audit.read(
            lambda: client.environment_get(
                service_sid=audit.service_sid, environment_sid=target.sid
            )
        )
        _require_plan(audit, grant.request, target, fingerprint)
        audit.plan(build_sid=str(audit.fields["build_sid"]) or None, live_before=target.build_sid)
        outcome = _deploy(audit, client)
        _detect_overwrite(client, grant.request, outcome)
        return outcome
    if grant.break_glass:
        return _break_glass(audit, client, policy, target, fingerprint)
    return _request_approval(audit, policy, target, fingerprint)


def _require_soak(audit: _Audit, client: ServerlessClient, policy: EnvironmentPolicy) -> None:
    """The build ran its soak time on the source, with no error-level log (services/soak.py)."""
    source_sid = str(audit.fields["source_environment_sid"])
    source = audit.read(
        lambda: client.environment_get(service_sid=audit.service_sid, environment_sid=source_sid)
    )
    refusal = audit.read(
        lambda: soak_refusal(
            client=client, policy=policy, service_sid=audit.service_sid, source=source
        )
    )
    if refusal is not None:
        raise audit.refuse(refusal.message, status=409)


def _detect_overwrite(
    client: ServerlessClient, request: PromotionRequest, outcome: ActionOutcome
) -> None:
    """Whether an outside deployment landed between our last read and our POST.

    Twilio has no conditional deploy, so that last round trip cannot be closed; it is
    found here, from the history, and recorded on the request and in the audit.
    """
    if outcome.deployment is None:
        return
    try:
        page = client.deployment_page(
            service_sid=request.service_sid, environment_sid=request.environment_sid, page_size=5
        )
    except ServerlessError:
        return  # the next reconcile compares what is live with what we expect
    sids = [d.sid for d in page.items]
    if outcome.deployment.sid not in sids:
        return
    before = page.items[sids.index(outcome.deployment.sid) + 1 :]
    replaced = before[0].build_sid or "" if before else ""
    if not before or replaced == request.live_build_sid:
        return
    note = (
        f"An outside deployment of {replaced or 'nothing'} landed while request #{request.pk} "
        "executed; this deployment replaced it."
    )
    PromotionRequest.objects.filter(pk=request.pk).update(execution_error=note)
    requests.step_record(request, Action.EXTERNAL, actor="", via="system", message=note)
    requests.notify(
        request,
        subject="Deployed over an outside deployment",
        body=note,
        to=[request.requester, *requests.approvers_of(None)],
    )


def _require_promotion_order(
    audit: _Audit, client: ServerlessClient, policy: EnvironmentPolicy, name: str
) -> None:
    """The build is, or was, live on the policy's source environment (e.g. stage)."""
    build_sid = str(audit.fields["build_sid"])
    source_name = policy.promote_from

    def ran_on_source() -> bool:
        listed = client.environment_list(service_sid=audit.service_sid)
        source = next((e for e in listed if e.unique_name == source_name), None)
        if source is None:
            return False
        if source.build_sid == build_sid:
            return True
        # Our records outlive a clear of the source; Twilio's history is checked too.
        if DeploymentRecord.objects.filter(environment_sid=source.sid, build_sid=build_sid):
            return True
        return any(
            d.build_sid == build_sid
            for d in client.deployment_iter(
                service_sid=audit.service_sid, environment_sid=source.sid, page_size=1000
            )
        )

    if not audit.read(ran_on_source):
        raise audit.refuse(
            f"{name} only takes builds that ran on {source_name}; {build_sid} never did. "
            f"Promote it to {source_name} first.",
            status=409,
        )


def _require_plan(
    audit: _Audit, request: PromotionRequest, target: Environment, fingerprint: str
) -> None:
    """The approved plan still holds: same build, same target, same live build, same variables."""
    name = _name(target)
    live = target.build_sid or ""
    changes = []
    if (request.action, request.environment_sid) != (audit.fields["action"], target.sid):
        changes.append("the request is for another action or environment")
    if request.build_sid != audit.fields["build_sid"]:
        changes.append(
            f"the build to deploy is {audit.fields['build_sid'] or 'nothing'} now, "
            f"not {request.build_sid or 'nothing'}"
        )
    if request.live_build_sid != live:
        changes.append(
            f"{name} runs {live or 'nothing'} now, not {request.live_build_sid or 'nothing'} "
            "as when it was approved"
        )
    if request.variables_fingerprint != fingerprint:
        changes.append(f"{name}'s environment variables changed since it was approved")
    if changes:
        message = "The approved plan changed: " + "; ".join(changes) + "."
        entry = audit.refuse(message, status=409).entry
        assert entry is not None
        raise PlanChanged(message, entry=entry, live_build_sid=live, fingerprint=fingerprint)


def _request_approval(
    audit: _Audit, policy: EnvironmentPolicy, target: Environment, fingerprint: str
) -> ActionOutcome:
    """Instead of deploying: a request for the policy's approvers, and one audit step."""
    name = _name(target)
    if not audit.fields["reason"]:
        raise audit.refuse(
            f"{name} is protected: give a reason, and the change goes to approvers "
            f"({policy.approvals_label} needed)."
        )
    waiting = PromotionRequest.objects.filter(
        environment_sid=target.sid,
        action=audit.fields["action"],
        build_sid=audit.fields["build_sid"],
        status=PromotionRequest.Status.OPEN,
        expires_at__gt=timezone.now(),
    ).first()
    if waiting is not None:
        raise audit.refuse(
            f"Request #{waiting.pk} for this change is already awaiting approval.", status=409
        )
    assert audit.user is not None
    request = requests.request_create(
        fields=audit.fields,
        requester=audit.user,
        policy=policy,
        live_build_sid=target.build_sid or "",
        fingerprint=fingerprint,
    )
    entry = requests.step_record(
        request,
        Action.REQUEST,
        actor=str(audit.fields["actor"]),
        via=str(audit.fields["via"]),
        client_ip=audit.fields["client_ip"],  # type: ignore[arg-type]
        reason=request.reason,
        message=(
            f"{request.action} of {request.build_sid or 'nothing'} to {name}: "
            f"needs {policy.approvals_label}."
        ),
    )
    requests.notify(
        request,
        subject=f"Approval needed: {request.action} by {entry.actor}",
        body=(
            f"{entry.actor} asks to {request.action} {request.build_sid or 'nothing'} on "
            f"{name} ({request.service_name}).\nWhy: {request.reason}"
        ),
        to=requests.approvers_of(policy),
    )
    return ActionOutcome(entry=entry, request=request)


def _break_glass(
    audit: _Audit,
    client: ServerlessClient,
    policy: EnvironmentPolicy,
    target: Environment,
    fingerprint: str,
) -> ActionOutcome:
    """At once, by the few allowed to, with a reason; approvers review it afterwards."""
    assert audit.user is not None
    if not policies.user_can_break_glass(audit.user):
        raise audit.refuse("Your role does not allow break-glass deployments.", status=403)
    if not audit.fields["reason"]:
        raise audit.refuse("A break-glass deployment needs a reason.")
    request = requests.request_create(
        fields=audit.fields,
        requester=audit.user,
        policy=policy,
        live_build_sid=target.build_sid or "",
        fingerprint=fingerprint,
        break_glass=True,
    )
    audit.fields["request"] = request
    requests.step_record(
        request,
        Action.BREAK_GLASS,
        actor=str(audit.fields["actor"]),
        via=str(audit.fields["via"]),
        reason=request.reason,
        message=f"Break-glass {request.action} on {_name(target)}, without approval.",
    )
    try:
        outcome = _deploy(audit, client)
    except ActionError as exc:
        PromotionRequest.objects.filter(pk=request.pk).update(
            status=PromotionRequest.Status.FAILED, execution_error=exc.message
        )
        raise
    PromotionRequest.objects.filter(pk=request.pk).update(
        status=PromotionRequest.Status.EXECUTED,
        executed_at=timezone.now(),
        deployment_sid=outcome.entry.deployment_sid,
    )
    request.refresh_from_db()
    requests.notify(
        request,
        subject=f"Break-glass {request.action} by {request.requester}: review it",
        body=(
            f"{request.requester} deployed {request.build_sid or 'nothing'} to "
            f"{request.environment_name} without approval.\nWhy: {request.reason}\n"
            "It stays open on the Approvals page until an approver ratifies it."
        ),
        to=requests.approvers_of(policy),
    )
    return ActionOutcome(
        entry=outcome.entry,
        deployment=outcome.deployment,
        confirmed_by_reread=outcome.confirmed_by_reread,
        request=request,
    )


# --- the upstream write and its outcome -----------------------------------------------------


def _deploy(audit: _Audit, client: ServerlessClient) -> ActionOutcome:
    """The pending entry, the one POST, and the true outcome; the pages' cache forgets it."""
    try:
        return _deploy_once(audit, client)
    finally:
        # Whatever came of the POST (even an unknown outcome), the next view reads Twilio.
        try:
            page_cache.forget_environment(
                client, service_sid=audit.service_sid, environment_sid=audit.environment_sid
            )
        except DatabaseError:
            # Never let this hide the outcome; the pages catch up within their lifetime.
            logger.exception("Could not tell the pages' cache about a deployment")


def _deploy_once(audit: _Audit, client: ServerlessClient) -> ActionOutcome:
    entry = audit.pending()
    try:
        result = client.deployment_create(
            service_sid=entry.service_sid,
            environment_sid=entry.environment_sid,
            build_sid=entry.build_sid or None,
        )
    except DeploymentOutcomeUnknown as exc:
        entry.complete(outcome=Outcome.UNKNOWN, **_failure(exc))
        raise ActionFailed(exc.user_message, entry=entry) from None
    except AlreadyDeployed:
        # The client turns Twilio's 409/20409 into already_live; kept here for safety.
        entry.complete(outcome=Outcome.NOOP)
        return ActionOutcome(entry=entry)
    except ServerlessError as exc:
        entry.complete(outcome=Outcome.FAILED, **_failure(exc))
        raise ActionFailed(exc.user_message, entry=entry) from None
    except BaseException:
        # A bug or an interrupted worker: the entry stays visible, marked unknown, until
        # the next reconcile settles it by what is live.
        entry.complete(outcome=Outcome.UNKNOWN, error_message="Interrupted mid-call.")
        raise
    if result.already_live:
        entry.complete(outcome=Outcome.NOOP)
        return ActionOutcome(entry=entry)
    deployment = result.deployment
    # One transaction: a reconcile that sees the entry completed also sees the new
    # expected build, never a false "changed outside".
    with transaction.atomic():
        entry.complete(
            outcome=Outcome.SUCCEEDED, deployment_sid=deployment.sid if deployment else ""
        )
        reconcile.action_adopt(entry=entry, deployment=deployment)
    logger.info("%s by %s: %s", entry.action, entry.actor, entry.outcome)
    return ActionOutcome(
        entry=entry, deployment=deployment, confirmed_by_reread=result.confirmed_by_reread
    )


# --- the audit entry of one attempt -----------------------------------------------------------


@dataclass
class _Audit:
    """What an attempt is, as it becomes known; every way out of it leaves an entry."""

    fields: dict[str, object] = field(default_factory=dict)
    user: User | None = None
    grant: Grant = field(default_factory=lambda: Grant())

    @classmethod
    def begin(
        cls,
        action: str,
        *,
        actor: User,
        client_ip: str | None,
        via: str,
        service_sid: str,
        environment_sid: str,
        source_environment_sid: str = "",
        build_sid: str = "",
        reason: str = "",
        grant: Grant | None = None,
    ) -> _Audit:
        grant = grant or Grant()
        return cls(
            user=actor,
            grant=grant,
            fields={
                "request": grant.request,
                "action": action,
                "actor": actor.get_username() if actor.is_authenticated else "",
                "client_ip": client_ip,
                "via": via,
                # Cut to the column's size: a malformed SID is refused, but still audited.
                "service_sid": str(service_sid)[:34],
                "environment_sid": str(environment_sid)[:34],
                "source_environment_sid": str(source_environment_sid)[:34],
                "build_sid": str(build_sid)[:34],
                "reason": reason.strip()[:MAX_REASON_LENGTH],
            },
        )

    @property
    def service_sid(self) -> str:
        return str(self.fields["service_sid"])

    @property
    def environment_sid(self) -> str:
        return str(self.fields["environment_sid"])

    def require_permission(self) -> None:
        # The same rule the action's dialog asks (user_may), for the action being audited.
        if not user_may(action=str(self.fields["action"]), user=self.user):
            raise self.refuse("Your role does not allow this action.", status=403)

    def require_sids(self, **sids: str) -> None:
        for name, value in sids.items():
            kind = name.rsplit("_", 1)[-1]
            if not is_sid(value, kind):
                label = name.replace("_", " ")
                raise self.refuse(f"{str(value)[:40]!r} is not a valid {label} SID.")

    @contextmanager
    def locked(self, client: ServerlessClient) -> Iterator[None]:
        try:
            with environment_lock(
                environment_sid=self.environment_sid, holder=str(self.fields["actor"])
            ):
                yield
        except LockBusy:
            self._describe_busy(client)
            raise self.refuse(
                f"A deployment to {self.fields.get('environment_name') or 'this environment'} "
                "is already in progress; try again when it has finished.",
                status=409,
            ) from None
        except LockUnavailable as exc:
            message = (
                "The deployment lock (Redis) cannot be reached, so nothing was deployed; "
                "try again in a moment."
            )
            entry = self._final(
                Outcome.FAILED,
                error_kind="lock_unavailable",
                error_message=message,
                # The lock's own words may name the Redis server: administrators only.
                error_detail=_redacted(f"Lock unavailable ({exc})."),
            )
            raise ActionFailed(message, entry=entry) from None

    def read(self, reads: Callable[[], T]) -> T:
        try:
            return reads()
        except NotFound:
            raise self.refuse("No such service or environment.", status=404) from None
        except ServerlessError as exc:
            raise self.fail(exc) from None

    def describe(
        self, *, service: Service, target: Environment, source: Environment | None = None
    ) -> None:
        self.fields["service_name"] = service.friendly_name or service.unique_name or ""
        self.fields["service_unique_name"] = service.unique_name or ""
        self.fields["environment_name"] = target.unique_name or ""
        if source is not None:
            self.fields["source_environment_name"] = source.unique_name or ""

    def plan(self, *, build_sid: str | None, live_before: str | None) -> None:
        self.fields["build_sid"] = build_sid or ""
        self.fields["previous_build_sid"] = live_before or ""

    def pending(self) -> AuditEntry:
        return AuditEntry.objects.create(**self.fields)

    def noop(self) -> ActionOutcome:
        entry = self._final(Outcome.NOOP)
        logger.info("%s by %s: already so, nothing sent", entry.action, entry.actor)
        return ActionOutcome(entry=entry)

    def refuse(self, message: str, *, status: int = 400) -> ActionRefused:
        return ActionRefused(
            message, status=status, entry=self._final(Outcome.REFUSED, error_message=message)
        )

    def fail(self, exc: ServerlessError) -> ActionFailed:
        entry = self._final(Outcome.FAILED, **_failure(exc))
        return ActionFailed(exc.user_message, entry=entry)

    def _final(self, outcome: str, **details: object) -> AuditEntry:
        return AuditEntry.objects.create(
            **self.fields, **details, outcome=outcome, completed_at=timezone.now()
        )

    def _describe_busy(self, client: ServerlessClient) -> None:
        # Only on this rare path is the environment read outside the lock: for its name.
        try:
            target = client.environment_get(
                service_sid=self.service_sid, environment_sid=self.environment_sid
            )
        except ServerlessError:
            return
        self.fields["environment_name"] = target.unique_name or ""


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What an action's rules look at, read once, under the lock."""

    service: Service
    target: Environment
    source: Environment | None = None
    build: Build | None = None
    # Whether the build appears in the target's history (asked for rollbacks only).
    in_history: bool = False


def _read_state(
    audit: _Audit,
    client: ServerlessClient,
    *,
    source_environment_sid: str = "",
    build_sid: str = "",
    look_in_history: bool = False,
) -> _State:
    """Every read the rules need, in one round trip (⌈reads/concurrency⌉, here one)."""
    service_sid, environment_sid = audit.service_sid, audit.environment_sid
    reads: dict[str, Callable[[], object]] = {
        "service": lambda: client.service_get(service=service_sid),
        "target": lambda: client.environment_get(
            service_sid=service_sid, environment_sid=environment_sid
        ),
    }
    if source_environment_sid:
        reads["source"] = lambda: client.environment_get(
            service_sid=service_sid, environment_sid=source_environment_sid
        )
    if build_sid:
        reads["build"] = lambda: _build_or_none(client, service_sid, build_sid)
    if look_in_history:
        # Stops at the first match; the order of the list does not matter.
        reads["in_history"] = lambda: any(
            d.build_sid == build_sid
            for d in client.deployment_iter(
                service_sid=service_sid, environment_sid=environment_sid, page_size=1000
            )
        )
    values = audit.read(lambda: client.read_many(lambda read: read(), list(reads.values())))
    state = _State(**dict(zip(reads, values, strict=True)))  # type: ignore[arg-type]
    audit.describe(service=state.service, target=state.target, source=state.source)
    return state


def _build_or_none(client: ServerlessClient, service_sid: str, build_sid: str) -> Build | None:
    try:
        return client.build_get(service_sid=service_sid, build_sid=build_sid)
    except NotFound:
        # Builds are read under the service's path: another service's build is a 404.
        return None


def _name(environment: Environment) -> str:
    return environment.unique_name or environment.sid


class _Failure(TypedDict):
    error_code: int | None
    error_kind: str
    error_message: str
    error_detail: str


def _failure(exc: ServerlessError) -> _Failure:
    """What the audit keeps of an upstream failure.

    Everyone sees Twilio's code, the kind of failure and the sentence the page showed; the
    technical text (method and path, status, the transport's words, which may name the
    upstream's address) is kept for administrators.
    """
    return {
        "error_code": exc.code,
        # UpstreamUnavailable -> upstream_unavailable
        "error_kind": re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower(),
        "error_message": exc.user_message,
        "error_detail": _redacted(str(exc)),
    }


def _redacted(text: str) -> str:
    # The client already keeps credentials out of its errors; this is the second lock.
    secrets = list(ClientConfig.from_settings().secrets())
    redis_password = urlsplit(settings.REDIS_URL).password if settings.REDIS_URL else None
    if redis_password:
        secrets.append(redis_password)
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text
