"""Promote, roll back and clear: the deployment operations, on top of the client.

Each checks what it can before writing and refuses with DeploymentRefused (no API write)
when the request makes no sense; otherwise it sends exactly one deployment POST (see
`ServerlessClient.deployment_create` for what happens when its answer is lost) and
returns a DeploymentResult. When the requested state is already live it says so
(`already_live=True`) instead of failing.

What is live is only ever the Environment's build_sid. Permissions, policies, locks and
the audit trail are not here: services/deployments.py wraps these with them.
"""

from __future__ import annotations

import logging

from .serverless import ServerlessClient, get_client
from .serverless_config import is_sid
from .serverless_errors import DeploymentRefused, NotFound
from .serverless_types import Build, DeploymentResult, Environment

__all__ = ["clear", "promote", "redeploy_known_build", "rollback"]

logger = logging.getLogger(__name__)


def promote(
    *,
    service_sid: str,
    source_environment_sid: str,
    target_environment_sid: str,
    client: ServerlessClient | None = None,
) -> DeploymentResult:
    """Deploy the build live in the source environment to the target environment.

    Reads both environments (concurrently), then the source's live build; refuses when
    the source has nothing live, the build is not completed or not of this service, or
    the target is the source.
    """
    client = client or get_client()
    _check_sid(service_sid, "service")
    _check_sid(source_environment_sid, "environment")
    _check_sid(target_environment_sid, "environment")
    if source_environment_sid == target_environment_sid:
        raise DeploymentRefused(
            "The target environment is the source environment; pick another target.",
            reason=DeploymentRefused.REASON_SAME_ENVIRONMENT,
        )
    source, target = client.read_many(
        lambda sid: client.environment_get(service_sid=service_sid, environment_sid=sid),
        [source_environment_sid, target_environment_sid],
    )
    build_sid = source.build_sid
    if build_sid is None:
        raise DeploymentRefused(
            f"Nothing is live in {_env_name(source)}, so there is nothing to promote.",
            reason=DeploymentRefused.REASON_NOTHING_LIVE,
        )
    if target.build_sid == build_sid:
        return _already_live(service_sid, target, build_sid)
    build = _build_or_refusal(client, service_sid, build_sid)
    if isinstance(build, DeploymentRefused):
        raise build
    _check_build_state(build, service_sid)
    result = client.deployment_create(
        service_sid=service_sid, environment_sid=target.sid, build_sid=build_sid
    )
    _log_result("promote", result)
    return _with_previous(result, target.build_sid)


def rollback(
    *,
    service_sid: str,
    environment_sid: str,
    build_sid: str,
    client: ServerlessClient | None = None,
) -> DeploymentResult:
    """Redeploy an earlier build of this environment.

    The environment, the build and the environment's history are read concurrently;
    refuses when the build is not completed, not of this service, or was never deployed
    to this environment.
    """
    client = client or get_client()
    _check_sid(service_sid, "service")
    _check_sid(environment_sid, "environment")
    _check_sid(build_sid, "build")

    def read_environment() -> object:
        return client.environment_get(service_sid=service_sid, environment_sid=environment_sid)

    def read_build() -> object:
        return _build_or_refusal(client, service_sid, build_sid)

    def read_in_history() -> object:
        history = client.deployment_iter(
            service_sid=service_sid, environment_sid=environment_sid, page_size=1000
        )
        # Stops at the first match; the order of the list does not matter.
        return any(deployment.build_sid == build_sid for deployment in history)

    environment, build, in_history = client.read_many(
        lambda read: read(), [read_environment, read_build, read_in_history]
    )
    assert isinstance(environment, Environment)
    if environment.build_sid == build_sid:
        return _already_live(service_sid, environment, build_sid)
    if isinstance(build, DeploymentRefused):
        raise build
    assert isinstance(build, Build)
    _check_build_state(build, service_sid)
    if not in_history:
        raise DeploymentRefused(
            f"Build {build_sid} was never deployed to {_env_name(environment)}; "
            "promote it instead of rolling back to it.",
            reason=DeploymentRefused.REASON_BUILD_NOT_IN_HISTORY,
        )
    result = client.deployment_create(
        service_sid=service_sid, environment_sid=environment_sid, build_sid=build_sid
    )
    _log_result("rollback", result)
    return _with_previous(result, environment.build_sid)


def redeploy_known_build(
    *,
    service_sid: str,
    environment_sid: str,
    build_sid: str,
    client: ServerlessClient | None = None,
) -> DeploymentResult:
    """Deploy a build that our own records say was live here, e.g. the one before a clear.

    A clear deletes the environment's history upstream, so unlike `rollback` this cannot
    check the history; the caller vouches for the build with its records. The build must
    still be completed and of this service.
    """
    client = client or get_client()
    _check_sid(service_sid, "service")
    _check_sid(environment_sid, "environment")
    _check_sid(build_sid, "build")
    environment, build = client.read_many(
        lambda read: read(),
        [
            lambda: client.environment_get(
                service_sid=service_sid, environment_sid=environment_sid
            ),
            lambda: _build_or_refusal(client, service_sid, build_sid),
        ],
    )
    assert isinstance(environment, Environment)
    if environment.build_sid == build_sid:
        return _already_live(service_sid, environment, build_sid)
    if isinstance(build, DeploymentRefused):
        raise build
    assert isinstance(build, Build)
    _check_build_state(build, service_sid)
    result = client.deployment_create(
        service_sid=service_sid, environment_sid=environment_sid, build_sid=build_sid
    )
    _log_result("restore", result)
    return _with_previous(result, environment.build_sid)


def clear(
    *,
    service_sid: str,
    environment_sid: str,
    client: ServerlessClient | None = None,
) -> DeploymentResult:
    """Deploy nothing to the environment (a deployment without a build)."""
    client = client or get_client()
    _check_sid(service_sid, "service")
    _check_sid(environment_sid, "environment")
    environment = client.environment_get(service_sid=service_sid, environment_sid=environment_sid)
    if environment.build_sid is None:
        return DeploymentResult(
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=None,
            deployment=None,
            already_live=True,
        )
    result = client.deployment_create(
        service_sid=service_sid, environment_sid=environment_sid, build_sid=None
    )
    _log_result("clear", result)
    return _with_previous(result, environment.build_sid)


# --- helpers ------------------------------------------------------------------------------


def _check_sid(value: str, kind: str) -> None:
    if not is_sid(value, kind):
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise DeploymentRefused(
            f"{shown!r} is not a valid {kind} SID.",
            reason=DeploymentRefused.REASON_MALFORMED_SID,
        )


def _build_or_refusal(
    client: ServerlessClient, service_sid: str, build_sid: str
) -> Build | DeploymentRefused:
    try:
        return client.build_get(service_sid=service_sid, build_sid=build_sid)
    except NotFound:
        # Builds are read under the service's path: another service's build is a 404.
        return DeploymentRefused(
            f"Build {build_sid} does not belong to this service.",
            reason=DeploymentRefused.REASON_BUILD_OF_OTHER_SERVICE,
        )


def _check_build_state(build: Build, service_sid: str) -> None:
    if build.service_sid is not None and build.service_sid != service_sid:
        raise DeploymentRefused(
            f"Build {build.sid} does not belong to this service.",
            reason=DeploymentRefused.REASON_BUILD_OF_OTHER_SERVICE,
        )
    if not build.is_completed:
        raise DeploymentRefused(
            f"Build {build.sid} is {build.status or 'in an unknown state'}, not completed; "
            "only completed builds can be deployed.",
            reason=DeploymentRefused.REASON_BUILD_NOT_COMPLETED,
        )


def _already_live(service_sid: str, environment: Environment, build_sid: str) -> DeploymentResult:
    logger.info("Build %s is already live in %s; nothing to do", build_sid, environment.sid)
    return DeploymentResult(
        service_sid=service_sid,
        environment_sid=environment.sid,
        build_sid=build_sid,
        deployment=None,
        already_live=True,
        previous_build_sid=environment.build_sid,
    )


def _with_previous(result: DeploymentResult, previous_build_sid: str | None) -> DeploymentResult:
    from dataclasses import replace

    return replace(result, previous_build_sid=previous_build_sid)


def _env_name(environment: Environment) -> str:
    return environment.unique_name or environment.sid


def _log_result(action: str, result: DeploymentResult) -> None:
    if result.already_live:
        outcome = "already live"
    else:
        outcome = result.deployment.sid if result.deployment else "confirmed by re-read"
    logger.info(
        "%s: %s -> %s (%s)", action, result.build_sid or "nothing", result.environment_sid, outcome
    )
