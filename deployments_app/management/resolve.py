"""What the deployment commands share: the user, service and environments they name,
and the action's outcome as one line of output or a one-line CommandError.

The commands take the same path as the dashboard's buttons (services/deployments.py),
so permissions, policies, the lock and the audit trail apply to them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.services.deployments import ActionError, ActionOutcome
from deployments_app.services.serverless import get_client
from deployments_app.services.serverless_errors import InvalidRequest, NotFound, ServerlessError
from deployments_app.services.serverless_types import Environment, Service


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
    name = found.unique_name or found.sid
    picked = []
    for key in environments:
        match = next((e for e in listed if key in (e.sid, e.unique_name)), None)
        if match is None:
            known = ", ".join(e.unique_name or e.sid for e in listed) or "none"
            raise CommandError(
                f"Service {name} has no environment {one_line(key)[:100]!r} (it has: {known})."
            )
        picked.append(match)
    return found, picked


def run_action(action: Callable[[], ActionOutcome]) -> str:
    """The outcome message of a deployment action; a refusal or failure as a CommandError."""
    try:
        return action().message
    except ActionError as exc:
        raise CommandError(one_line(exc.message)) from None
    except ServerlessError as exc:
        # Not every upstream failure inside an action is wrapped in ActionFailed.
        raise CommandError(one_line(exc.user_message)) from None


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
        self.stdout.write(self.style.SUCCESS(run_action(lambda: self.perform(call))))


@dataclass(frozen=True)
class ActionCall:
    """What a deployment command was asked: who, on which service and environments."""

    actor: AbstractUser
    service: Service
    environments: list[Environment]
    options: dict[str, Any]
