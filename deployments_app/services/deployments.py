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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from django.db import transaction
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry
from deployments_app.services import reconcile, records
from deployments_app.services.locks import LockBusy, LockUnavailable, environment_lock
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import (
    AlreadyDeployed,
    DeploymentOutcomeUnknown,
    NotFound,
    ServerlessError,
)
from deployments_app.services.serverless_types import Build, Deployment, Environment, Service
from deployments_app.sids import is_sid

__all__ = [
    "ActionError",
    "ActionFailed",
    "ActionOutcome",
    "ActionRefused",
    "action_refuse_input",
    "deployment_promote",
    "deployment_redeploy",
    "deployment_restore",
    "environment_clear",
    "user_can_clear",
    "user_can_deploy",
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


@dataclass(frozen=True)
class ActionOutcome:
    entry: AuditEntry
    # The deployment the action made (None for a no-op, or when Twilio's answer was lost
    # and the re-read confirmed the change without finding it in the history).
    deployment: Deployment | None = None
    # Twilio's answer to the POST was lost and re-reading the environment confirmed it.
    confirmed_by_reread: bool = False

    @property
    def changed(self) -> bool:
        return self.entry.outcome == Outcome.SUCCEEDED

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
    reason: str = "",
    client_ip: str | None = None,
    via: str = "web",
) -> ActionOutcome:
    """Deploy what is live in the source environment to the target environment."""
    audit = _Audit.begin(
        Action.PROMOTE,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=target_environment_sid,
        source_environment_sid=source_environment_sid,
        reason=reason,
    )
    audit.require(user_can_deploy(actor))
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
        # The build is known only now: a second round trip.
        build_sid = source.build_sid
        _require_deployable(
            audit, audit.read(lambda: _build_or_none(client, service_sid, build_sid)), build_sid
        )
        return _deploy(audit, client)


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
    audit = _Audit.begin(
        Action.REDEPLOY,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=environment_sid,
        build_sid=build_sid,
        reason=reason,
    )
    audit.require(user_can_deploy(actor))
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
        return _deploy(audit, client)


def deployment_restore(
    *,
    actor: User,
    service_sid: str,
    environment_sid: str,
    client_ip: str | None = None,
    via: str = "web",
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
        service_sid=service_sid,
        environment_sid=environment_sid,
    )
    audit.require(user_can_deploy(actor))
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
        return _deploy(audit, client)


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
    audit = _Audit.begin(
        Action.CLEAR,
        actor=actor,
        client_ip=client_ip,
        via=via,
        service_sid=service_sid,
        environment_sid=environment_sid,
    )
    audit.require(user_can_clear(actor))
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
        return _deploy(audit, client)


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
    audit.require(user_can_clear(actor) if action == Action.CLEAR else user_can_deploy(actor))
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


# --- the upstream write and its outcome -----------------------------------------------------


def _deploy(audit: _Audit, client: ServerlessClient) -> ActionOutcome:
    """The pending entry, the one POST, and the true outcome."""
    entry = audit.pending()
    try:
        result = client.deployment_create(
            service_sid=entry.service_sid,
            environment_sid=entry.environment_sid,
            build_sid=entry.build_sid or None,
        )
    except DeploymentOutcomeUnknown as exc:
        entry.complete(outcome=Outcome.UNKNOWN, error_message=str(exc))
        raise ActionFailed(exc.user_message, entry=entry) from None
    except AlreadyDeployed:
        # The client turns Twilio's 409/20409 into already_live; kept here for safety.
        entry.complete(outcome=Outcome.NOOP)
        return ActionOutcome(entry=entry)
    except ServerlessError as exc:
        entry.complete(outcome=Outcome.FAILED, error_code=exc.code, error_message=_describe(exc))
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
    ) -> _Audit:
        return cls(
            {
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
            }
        )

    @property
    def service_sid(self) -> str:
        return str(self.fields["service_sid"])

    @property
    def environment_sid(self) -> str:
        return str(self.fields["environment_sid"])

    def require(self, allowed: bool) -> None:
        if not allowed:
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
            entry = self._final(Outcome.FAILED, error_message=f"Lock unavailable ({exc}).")
            raise ActionFailed(
                "The deployment lock (Redis) cannot be reached, so nothing was deployed; "
                "try again in a moment.",
                entry=entry,
            ) from None

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
        entry = self._final(Outcome.FAILED, error_code=exc.code, error_message=_describe(exc))
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


def _describe(exc: ServerlessError) -> str:
    # Twilio's own words (or the transport's, already free of credentials) for the audit.
    return f"{exc.message} ({exc.detail})" if exc.detail else exc.message
