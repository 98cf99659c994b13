"""What the deployment commands share: the user, service and environments they name,
and the action's outcome as one line of output or a one-line CommandError.

The commands take the same path as the dashboard's buttons (services/deployments.py),
so permissions, policies, the lock and the audit trail apply to them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import CommandError, CommandParser

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


def user_named(username: str) -> AbstractBaseUser:
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
