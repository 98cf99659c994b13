"""What the deployment commands share: the user, service and environments they name,
and the action's outcome as one line of output or a one-line CommandError.

The commands take the same path as the dashboard's buttons (services/deployments.py and
services/approvals.py), so permissions, policies, the lock and the audit trail apply to
them unchanged. Exit status: 0 deployed (or done), 1 refused or failed (CommandError),
3 awaiting approval (the change became, or still is, a request for approvers).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.models import Approval, AuditEntry, PromotionRequest
from deployments_app.services import requests
from deployments_app.services.approvals import DecisionOutcome, DecisionRefused
from deployments_app.services.deployments import ActionError, ActionOutcome
from deployments_app.services.serverless import get_client
from deployments_app.services.serverless_errors import InvalidRequest, NotFound, ServerlessError
from deployments_app.services.serverless_types import Environment, Service

# The exit status of a change that waits for approvers (0: deployed, 1: refused).
AWAITING_APPROVAL = 3


def add_actor_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--as",
        dest="username",
        metavar="USER",
        required=True,
        help="The dashboard user the action is done as (their role decides, the audit names them).",
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


def user_named(username: str) -> AbstractUser:
    User = get_user_model()
    try:
        user = User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        raise CommandError(f"No user named {one_line(username)!r}.") from None
    if not user.is_active:
        raise CommandError(f"User {user.get_username()!r} is inactive.")
    return user


def service_and_environments(
    service: str, environments: Sequence[str]
) -> tuple[Service, list[Environment]]:
    """The service (by SID or unique name) and its environments (by SID or unique name)."""
    found, listed = service_named(service)
    return found, [environment_in(found, listed, key) for key in environments]


def service_named(service: str) -> tuple[Service, list[Environment]]:
    """The service (by SID or unique name) and every environment it has."""
    client = get_client()
    try:
        found = client.service_get(service=service)
        listed = client.environment_list(service_sid=found.sid)
    except NotFound:
        raise CommandError(f"No service {one_line(service)!r}.") from None
    except InvalidRequest:
        raise CommandError(
            f"{one_line(service)[:100]!r} is not a service SID or unique name."
        ) from None
    except ServerlessError as exc:
        raise CommandError(one_line(exc.user_message)) from None
    return found, listed


def environment_in(service: Service, listed: Sequence[Environment], key: str) -> Environment:
    """The environment of `listed` whose SID or unique name is `key`."""
    match = next((e for e in listed if key in (e.sid, e.unique_name)), None)
    if match is None:
        raise CommandError(no_environment(service, listed, key))
    return match


def no_environment(service: Service, listed: Sequence[Environment], key: str) -> str:
    known = ", ".join(e.unique_name or e.sid for e in listed) or "none"
    name = service.unique_name or service.sid
    return f"Service {name} has no environment {one_line(key)[:100]!r} (it has: {known})."


def run_action(action: Callable[[], ActionOutcome]) -> ActionOutcome:
    """The outcome of a deployment action; a refusal or failure as a CommandError."""
    try:
        return action()
    except ActionError as exc:
        raise CommandError(one_line(exc.message)) from None
    except ServerlessError as exc:
        # Not every upstream failure inside an action is wrapped in ActionFailed.
        raise CommandError(one_line(exc.user_message)) from None


def run_decision(request_id: int, decision: Callable[[], DecisionOutcome]) -> DecisionOutcome:
    """The outcome of a decision on a request; a refusal or failure as a CommandError."""
    try:
        return decision()
    except DecisionRefused as exc:
        if exc.status == 404:
            raise CommandError(f"No request #{request_id}.") from None
        raise CommandError(one_line(exc.message)) from None
    except ActionError as exc:
        raise CommandError(one_line(exc.message)) from None
    except ServerlessError as exc:
        raise CommandError(one_line(exc.user_message)) from None


def awaiting_approval(request: PromotionRequest) -> str:
    """The line that goes with exit status 3: the request, its approvals, its page."""
    given = request.approvals.filter(
        decision=Approval.Decision.APPROVE, voided_at__isnull=True
    ).count()
    return (
        f"Request #{request.pk} is awaiting approval ({given} of "
        f"{request.required_approvals}): {requests.request_url(request)}"
    )


def request_number(value: str) -> int:
    """A request's id as typed: 12 or #12."""
    number = value.strip().removeprefix("#")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a request number")
    return int(number)


def add_request_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "request_id", type=request_number, metavar="ID", help="The request's number (see requests)"
    )


class ActionCommand(BaseCommand):
    """A deployment command: SERVICE, its environment arguments, --as USER, one action."""

    # The positional arguments naming environments, in order, with their help.
    environment_arguments: Sequence[tuple[str, str]] = (
        ("environment", "Environment SID or unique name"),
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        for name, help_text in self.environment_arguments:
            parser.add_argument(name, help=help_text)
        self.add_action_arguments(parser)
        parser.add_argument(
            "--reason",
            default="",
            help="Why, for the audit trail; required where the environment is protected "
            "(the approvers read it)",
        )
        add_actor_argument(parser)

    def add_action_arguments(self, parser: CommandParser) -> None:
        """The action's own arguments, beside the service, environments and user."""

    def perform(self, call: ActionCall) -> ActionOutcome:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["username"])
        service, environments = service_and_environments(
            options["service"], [options[name] for name, _ in self.environment_arguments]
        )
        call = ActionCall(actor=actor, service=service, environments=environments, options=options)
        outcome = run_action(lambda: self.perform(call))
        if outcome.entry.action == AuditEntry.Action.REQUEST and outcome.request is not None:
            # Protected: nothing was deployed; the request waits for approvers.
            self.stdout.write(self.style.WARNING(awaiting_approval(outcome.request)))
            raise SystemExit(AWAITING_APPROVAL)
        self.stdout.write(self.style.SUCCESS(outcome.message))


@dataclass(frozen=True)
class ActionCall:
    """What a deployment command was asked: who, on which service and environments."""

    actor: AbstractUser
    service: Service
    environments: list[Environment]
    options: dict[str, Any]
