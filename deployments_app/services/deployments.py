"""Promote, redeploy (roll back), restore and clear: the one path every deployment takes.

Each action, from a button, a management command or (later) an approved request:
checks the user's permission, validates its input, takes the environment's lock, writes
a `pending` audit entry, calls the Serverless client, then completes the entry with the
true outcome and updates the dashboard's own records. Refusals are audited too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from deployments_app.services import serverless_ops
from deployments_app.services.locks import LockBusy, environment_lock
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_config import is_sid
from deployments_app.services.serverless_errors import (
    DeploymentOutcomeUnknown,
    DeploymentRefused,
    NotFound,
    ServerlessError,
)
from deployments_app.services.serverless_types import DeploymentResult, Environment, Service

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
User = AbstractBaseUser | AnonymousUser


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


@dataclass(frozen=True)
class ActionOutcome:
    entry: AuditEntry
    result: DeploymentResult

    @property
    def message(self) -> str:
        entry = self.entry
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


# --- the actions ---------------------------------------------------------------------------


def deployment_promote(
    *,
    actor: User,
    service_sid: str,
    source_environment_sid: str,
    target_environment_sid: str,
    client_ip: str | None = None,
    via: str = "web",
) -> ActionOutcome:
    """Deploy what is live in the source environment to the target environment."""

    def check(service: Service, target: Environment, client: ServerlessClient) -> dict[str, str]:
        if source_environment_sid == target_environment_sid:
            raise ActionRefused("The target environment is the source environment.")
        source = client.environment_get(
            service_sid=service_sid, environment_sid=source_environment_sid
        )
        if not source.build_sid:
            raise ActionRefused(
                f"Nothing is live in {source.unique_name}, so there is nothing to promote."
            )
        return {
            "source_environment_sid": source.sid,
            "source_environment_name": source.unique_name or "",
            "build_sid": source.build_sid,
        }

    return _perform(
        action=Action.PROMOTE,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=target_environment_sid,
        sids={"source environment": source_environment_sid},
        permission_check=user_can_deploy,
        check=check,
        operation=lambda client: serverless_ops.promote(
            service_sid=service_sid,
            source_environment_sid=source_environment_sid,
            target_environment_sid=target_environment_sid,
            client=client,
        ),
    )


def deployment_redeploy(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    build_sid: str,
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
) -> ActionOutcome:
    """Roll back: redeploy a build from this environment's history."""
    return _perform(
        action=Action.REDEPLOY,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=environment_sid,
        sids={"build": build_sid},
        permission_check=user_can_deploy,
        fields={"build_sid": build_sid, "reason": reason.strip()[:1000]},
        operation=lambda client: serverless_ops.rollback(
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=build_sid,
            client=client,
        ),
    )


def restorable_build(*, environment_sid: str) -> AuditEntry | None:
    """The successful clear whose earlier build can be restored, if the last action was one."""
    state = EnvironmentState.objects.filter(environment_sid=environment_sid).first()
    last = state.last_action if state else None
    if last and last.action == Action.CLEAR and last.previous_build_sid:
        return last
    return None


def deployment_restore(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    client_ip: str | None = None,
    via: str = "web",
) -> ActionOutcome:
    """Redeploy the build that was live before the environment was cleared."""
    clear_entry = restorable_build(environment_sid=environment_sid)
    build_sid = clear_entry.previous_build_sid if clear_entry else ""

    def check(service: Service, target: Environment, client: ServerlessClient) -> dict[str, str]:
        if not build_sid:
            raise ActionRefused(
                "There is nothing to restore: the last action here was not a clear.",
                status=409,
            )
        if target.build_sid:
            # Someone deployed since the clear (maybe outside the dashboard): restoring
            # would silently replace their build.
            raise ActionRefused(
                f"{target.unique_name} runs {target.build_sid} now; restore is only for the "
                "empty environment a clear left. Use Redeploy instead.",
                status=409,
            )
        return {}

    return _perform(
        action=Action.RESTORE,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=environment_sid,
        permission_check=user_can_deploy,
        check=check,
        fields={"build_sid": build_sid},
        operation=lambda client: serverless_ops.redeploy_known_build(
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=build_sid,
            client=client,
        ),
    )


def environment_clear(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    confirmation: str,
    client_ip: str | None = None,
    via: str = "web",
) -> ActionOutcome:
    """Deploy nothing: the environment's functions and assets answer 404 afterwards."""

    def check(service: Service, target: Environment, client: ServerlessClient) -> dict[str, str]:
        if confirmation.strip() != (target.unique_name or ""):
            raise ActionRefused(
                f"Type the environment's name, {target.unique_name}, to confirm the clear."
            )
        return {}

    return _perform(
        action=Action.CLEAR,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=environment_sid,
        permission_check=user_can_clear,
        check=check,
        operation=lambda client: serverless_ops.clear(
            service_sid=service_sid, environment_sid=environment_sid, client=client
        ),
    )


# --- the one path ------------------------------------------------------------------------

Check = Callable[[Service, Environment, ServerlessClient], dict[str, str]]


def _perform(
    *,
    action: str,
    actor: User,
    client_ip: str | None,
    via: str,
    service_sid: str,
    environment_sid: str,
    permission_check: Callable[[User], bool],
    operation: Callable[[ServerlessClient], DeploymentResult],
    sids: dict[str, str] | None = None,
    check: Check | None = None,
    fields: dict[str, str] | None = None,
) -> ActionOutcome:
    record = {
        "action": action,
        "actor": actor.get_username() if actor.is_authenticated else "",
        "client_ip": client_ip,
        "via": via,
        "service_sid": str(service_sid)[:34],
        "environment_sid": str(environment_sid)[:34],
        **(fields or {}),
    }
    if not permission_check(actor):
        raise _refuse(record, "Your role does not allow this action.", status=403)
    for kind, value in {
        "service": service_sid,
        "environment": environment_sid,
        **(sids or {}),
    }.items():
        if not is_sid(value, kind.split()[-1]):
            raise _refuse(record, f"{str(value)[:40]!r} is not a valid {kind} SID.")

    client = get_client()
    try:
        service, environment = _read_target(client, service_sid, environment_sid)
    except NotFound:
        raise _refuse(record, "No such service or environment.", status=404) from None
    except ServerlessError as exc:
        raise _fail(record, exc) from None
    record["service_name"] = service.friendly_name or service.unique_name or ""
    record["service_unique_name"] = service.unique_name or ""
    record["environment_name"] = environment.unique_name or ""
    try:
        if check:
            record.update(check(service, environment, client))
    except ActionRefused as refused:
        raise _refuse(record, refused.message, status=refused.status) from None
    except ServerlessError as exc:
        raise _fail(record, exc) from None

    try:
        with environment_lock(environment_sid=environment_sid, holder=record["actor"]):
            return _call_upstream(client, record, operation)
    except LockBusy:
        raise _refuse(
            record,
            f"A deployment to {record['environment_name']} is already in progress; "
            "try again when it has finished.",
            status=409,
        ) from None


def _read_target(
    client: ServerlessClient, service_sid: str, environment_sid: str
) -> tuple[Service, Environment]:
    service, environment = client.read_many(
        lambda read: read(),
        [
            lambda: client.service_get(service=service_sid),
            lambda: client.environment_get(
                service_sid=service_sid, environment_sid=environment_sid
            ),
        ],
    )
    assert isinstance(service, Service)
    assert isinstance(environment, Environment)
    return service, environment


def _call_upstream(
    client: ServerlessClient,
    record: dict[str, object],
    operation: Callable[[ServerlessClient], DeploymentResult],
) -> ActionOutcome:
    # Read what is live now, under the lock: that is what this action replaces.
    try:
        live_before = client.environment_get(
            service_sid=str(record["service_sid"]), environment_sid=str(record["environment_sid"])
        ).build_sid
    except ServerlessError as exc:
        raise _fail(record, exc) from None
    entry = AuditEntry.objects.create(**record, previous_build_sid=live_before or "")
    try:
        result = operation(client)
    except DeploymentRefused as exc:
        entry.complete(outcome=Outcome.REFUSED, error_message=exc.message)
        raise ActionRefused(exc.user_message, entry=entry) from None
    except DeploymentOutcomeUnknown as exc:
        entry.complete(outcome=Outcome.UNKNOWN, error_message=str(exc))
        raise ActionFailed(exc.user_message, entry=entry) from None
    except ServerlessError as exc:
        entry.complete(outcome=Outcome.FAILED, error_code=exc.code, error_message=_describe(exc))
        raise ActionFailed(exc.user_message, entry=entry) from None
    except BaseException:
        # A bug or an interrupted worker: the entry stays visible, marked unknown, until
        # the next read of the environment reconciles it.
        entry.complete(outcome=Outcome.UNKNOWN, error_message="Interrupted mid-call.")
        raise
    deployment_sid = result.deployment.sid if result.deployment else ""
    # One transaction: a page read (records.environment_observe) that sees the entry
    # completed also sees the new expected build, never a false "changed outside".
    with transaction.atomic():
        entry.complete(
            outcome=Outcome.NOOP if result.already_live else Outcome.SUCCEEDED,
            deployment_sid=deployment_sid,
        )
        if result.changed:
            _remember(entry, result)
    logger.info("%s by %s: %s", entry.action, entry.actor, entry.outcome)
    return ActionOutcome(entry=entry, result=result)


def _remember(entry: AuditEntry, result: DeploymentResult) -> None:
    """Keep our own records in step with what the action did upstream."""
    now = timezone.now()
    if entry.action == Action.CLEAR:
        # The clear deleted the environment's history upstream; ours is kept, marked.
        DeploymentRecord.objects.filter(
            environment_sid=entry.environment_sid, cleared_upstream_at__isnull=True
        ).update(cleared_upstream_at=now)
    if result.deployment:
        DeploymentRecord.objects.update_or_create(
            deployment_sid=result.deployment.sid,
            defaults={
                "service_sid": entry.service_sid,
                "environment_sid": entry.environment_sid,
                "build_sid": result.deployment.build_sid or "",
                "date_created": result.deployment.date_created or now,
                "deployed_by": entry.actor,
                "audit_entry": entry,
            },
        )
    EnvironmentState.objects.update_or_create(
        environment_sid=entry.environment_sid,
        defaults={
            "service_sid": entry.service_sid,
            "expected_build_sid": result.build_sid or "",
            "known": True,
            "last_action": entry,
            "external_change": None,
        },
    )


def _refuse(record: dict[str, object], message: str, *, status: int = 400) -> ActionRefused:
    entry = AuditEntry.objects.create(
        **record, outcome=Outcome.REFUSED, completed_at=timezone.now(), error_message=message
    )
    return ActionRefused(message, status=status, entry=entry)


def _fail(record: dict[str, object], exc: ServerlessError) -> ActionFailed:
    entry = AuditEntry.objects.create(
        **record,
        outcome=Outcome.FAILED,
        completed_at=timezone.now(),
        error_code=exc.code,
        error_message=_describe(exc),
    )
    return ActionFailed(exc.user_message, entry=entry)


def _describe(exc: ServerlessError) -> str:
    # Twilio's own words (or the transport's, already free of credentials) for the audit.
    return f"{exc.message} ({exc.detail})" if exc.detail else exc.message
