"""Reads for the compare page: two builds' diff, and two environments' variables drift.

Builds come through page_cache (a finished build never changes, so it is kept long),
the environment list with the short live lifetime. Variables are live data that often
hold secrets: they are read fresh from Twilio on every render, compared by fingerprint
(services/variables_drift.py), and never cached, kept or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.utils import timezone

from deployments_app.models import ServicePipeline
from deployments_app.pipeline import pipeline_order
from deployments_app.services import page_cache
from deployments_app.services.build_diff import BuildDiff, build_diff
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import NotFound, ServerlessError
from deployments_app.services.serverless_types import Build, Environment, Service, Variable
from deployments_app.services.variables_drift import VariablesDrift, variables_drift

__all__ = ["BuildComparison", "CompareNotFound", "build_comparison", "deployment_changes"]


class CompareNotFound(NotFound):
    """A SID of the link names nothing in this service: the page says which one."""

    @property
    def user_message(self) -> str:
        return self.message


@dataclass(frozen=True)
class BuildComparison:
    service: Service
    head: Build
    # What `head` is compared with: a build, or what is live on `environment` (None
    # when that environment runs nothing).
    base: Build | None
    environment: Environment | None
    diff: BuildDiff
    environments: tuple[Environment, ...]
    # Variables drift, when two environments were asked for.
    drift: VariablesDrift | None = None
    drift_source: Environment | None = None
    drift_target: Environment | None = None
    as_of: datetime | None = None

    @property
    def against_live(self) -> bool:
        return self.environment is not None

    @property
    def drift_choices(self) -> tuple[tuple[Environment, Environment], ...]:
        """(source, target) pairs worth offering when no drift was asked for.

        Against what is live on an environment: every other one as the source. Between
        two builds: each environment and the next one in the pipeline.
        """
        if self.environment is not None:
            target = self.environment
            return tuple((e, target) for e in self.environments if e.sid != target.sid)
        return tuple(zip(self.environments, self.environments[1:], strict=False))


def _client() -> ServerlessClient:
    return get_client()


def _raise_first_failure(results: dict[str, object], labels: dict[str, str]) -> None:
    """Raise the first failed read's error; a 404 names what the link asked for."""
    for item, result in results.items():
        if isinstance(result, NotFound):
            raise CompareNotFound(labels[item], method="GET", path="") from result
        if isinstance(result, ServerlessError):
            raise result


def _pipeline(service_sid: str, environments: list[Environment]) -> tuple[Environment, ...]:
    pipeline = ServicePipeline.objects.filter(service_sid=service_sid).first()
    return tuple(pipeline_order(environments, pipeline.order if pipeline else ()))


def build_comparison(
    *,
    service_sid: str,
    head_sid: str,
    base_sid: str | None = None,
    environment_sid: str | None = None,
    source_sid: str | None = None,
    target_sid: str | None = None,
) -> BuildComparison:
    """`head` against `base`, or against what is live on `environment` (one of the two).

    With `source_sid` and `target_sid`, the variables drift between those environments.
    One concurrent round reads the service, its environments, the builds named and the
    variables; a second reads the live build of `environment` when it is not cached.
    """
    if (base_sid is None) == (environment_sid is None):
        raise ValueError("give exactly one of base_sid and environment_sid")
    if (source_sid is None) != (target_sid is None):
        raise ValueError("variables drift needs both a source and a target")
    client = _client()
    reads = page_cache.PageReads(client)
    reads.preload([service_sid])

    def read(item: str) -> object:
        if item == "service":
            return reads.service(service_sid)
        if item == "environments":
            return reads.environments(service_sid)
        if item == "head":
            return reads.build(service_sid, head_sid)
        if item == "base":
            return reads.build(service_sid, base_sid or "")
        # Fresh on every render, never cached (see the module's docstring).
        sid = source_sid if item == "source" else target_sid
        return client.variable_list(service_sid=service_sid, environment_sid=sid or "")

    items = ["service", "environments", "head"]
    labels = {
        "service": f"No service {service_sid} in this account.",
        "environments": f"No service {service_sid} in this account.",
        "head": f"No build {head_sid} in this service.",
        "base": f"No build {base_sid} in this service.",
        "source": f"No environment {source_sid} in this service.",
        "target": f"No environment {target_sid} in this service.",
    }
    if base_sid and base_sid != head_sid:  # a build against itself is read once
        items.append("base")
    if source_sid and target_sid:
        items += ["source", "target"]
    results = dict(zip(items, client.read_many(read, items, return_exceptions=True), strict=True))
    # In the order read, the service first: with no such service every read fails.
    _raise_first_failure(results, labels)
    service = cast("Service", results["service"])
    environments = cast("list[Environment]", results["environments"])
    head = cast("Build", results["head"])
    by_sid = {e.sid: e for e in environments}

    def environment_named(sid: str) -> Environment:
        found = by_sid.get(sid)
        if found is None:
            raise CompareNotFound(f"No environment {sid} in this service.", method="GET", path="")
        return found

    environment = environment_named(environment_sid) if environment_sid else None
    base: Build | None
    if environment is not None:
        live = environment.build_sid
        base = reads.build(service_sid, live) if live else None
    else:
        base = cast("Build", results.get("base", head))
    drift: VariablesDrift | None = None
    drift_source: Environment | None = None
    drift_target: Environment | None = None
    if source_sid and target_sid:
        drift_source, drift_target = environment_named(source_sid), environment_named(target_sid)
        drift = variables_drift(
            source=cast("list[Variable]", results["source"]),
            target=cast("list[Variable]", results["target"]),
        )
    return BuildComparison(
        service=service,
        head=head,
        base=base,
        environment=environment,
        diff=build_diff(old=base, new=head),
        environments=_pipeline(service_sid, environments),
        drift=drift,
        drift_source=drift_source,
        drift_target=drift_target,
        as_of=reads.as_of or timezone.now(),
    )


def deployment_changes(
    *,
    service_sid: str,
    build_sid: str | None,
    environment_sid: str,
    source_environment_sid: str | None = None,
) -> BuildComparison | ServerlessError | None:
    """What deploying `build_sid` to an environment changes there: the code against what
    is live, and for a promotion the variables drift from its source environment.

    For the confirmation dialogs and the approval pages, so nobody confirms or approves
    blind. None when nothing is deployed (a clear); the error when Twilio could not say,
    so that the dialog still opens and says it could not show the changes.
    """
    if not build_sid:
        return None
    try:
        return build_comparison(
            service_sid=service_sid,
            head_sid=build_sid,
            environment_sid=environment_sid,
            source_sid=source_environment_sid or None,
            target_sid=environment_sid if source_environment_sid else None,
        )
    except ServerlessError as exc:
        return exc
