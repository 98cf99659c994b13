"""The v1 route table, one entry per operation in the spec, and dispatch."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import sids
from ..errors import InvalidParameter, MethodNotAllowed, not_found
from ..store import Store
from . import builds, deployments, environments, logs, services, variables
from .context import ApiRequest, ApiResponse
from .functions_assets import (
    ASSET_HANDLERS,
    FUNCTION_HANDLERS,
    ResourceHandlers,
    fetch_function_version_content,
)

Handler = Callable[[ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the spec's path, e.g. "/v1/Services/{ServiceSid}/Builds/{Sid}"
    handler: Handler
    # SID prefix each path segment must carry, from the spec's parameter
    # patterns. `ServiceSid` (and `Sid` under /Services) has none: it may be a
    # unique_name.
    prefixes: tuple[tuple[str, str], ...] = ()

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.template)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    if template not in _CACHE:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        _CACHE[template] = re.compile(f"^{pattern}/?$")
    return _CACHE[template]


S = "/v1/Services/{ServiceSid}"
ENV = f"{S}/Environments/{{EnvironmentSid}}"
ZE = ("EnvironmentSid", sids.ENVIRONMENT)


def _resource_routes(handlers: ResourceHandlers[Any, Any]) -> tuple[Route, ...]:
    """The seven routes Functions and Assets share: CRUD plus Versions."""
    base = f"{S}/{handlers.segment}"
    parent = handlers.parent_param
    own = (("Sid", handlers.kind.prefix),)
    versions = f"{base}/{{{parent}}}/Versions"
    return (
        Route("GET", base, handlers.list),
        Route("POST", base, handlers.create),
        Route("GET", f"{base}/{{Sid}}", handlers.fetch, own),
        Route("POST", f"{base}/{{Sid}}", handlers.update, own),
        Route("DELETE", f"{base}/{{Sid}}", handlers.delete, own),
        Route("GET", versions, handlers.list_versions, ((parent, handlers.kind.prefix),)),
        Route(
            "GET",
            f"{versions}/{{Sid}}",
            handlers.fetch_version,
            ((parent, handlers.kind.prefix), ("Sid", handlers.kind.version_prefix)),
        ),
    )


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/Services", services.list_services),
    Route("POST", "/v1/Services", services.create_service),
    Route("GET", "/v1/Services/{Sid}", services.fetch_service),
    Route("POST", "/v1/Services/{Sid}", services.update_service),
    Route("DELETE", "/v1/Services/{Sid}", services.delete_service),
    Route("GET", f"{S}/Environments", environments.list_environments),
    Route("POST", f"{S}/Environments", environments.create_environment),
    Route(
        "GET",
        f"{S}/Environments/{{Sid}}",
        environments.fetch_environment,
        (("Sid", sids.ENVIRONMENT),),
    ),
    Route(
        "DELETE",
        f"{S}/Environments/{{Sid}}",
        environments.delete_environment,
        (("Sid", sids.ENVIRONMENT),),
    ),
    Route("GET", f"{ENV}/Deployments", deployments.list_deployments, (ZE,)),
    Route("POST", f"{ENV}/Deployments", deployments.create_deployment, (ZE,)),
    Route(
        "GET",
        f"{ENV}/Deployments/{{Sid}}",
        deployments.fetch_deployment,
        (ZE, ("Sid", sids.DEPLOYMENT)),
    ),
    Route("GET", f"{ENV}/Logs", logs.list_logs, (ZE,)),
    Route("GET", f"{ENV}/Logs/{{Sid}}", logs.fetch_log, (ZE, ("Sid", sids.LOG))),
    Route("GET", f"{ENV}/Variables", variables.list_variables, (ZE,)),
    Route("POST", f"{ENV}/Variables", variables.create_variable, (ZE,)),
    Route(
        "GET", f"{ENV}/Variables/{{Sid}}", variables.fetch_variable, (ZE, ("Sid", sids.VARIABLE))
    ),
    Route(
        "POST", f"{ENV}/Variables/{{Sid}}", variables.update_variable, (ZE, ("Sid", sids.VARIABLE))
    ),
    Route(
        "DELETE",
        f"{ENV}/Variables/{{Sid}}",
        variables.delete_variable,
        (ZE, ("Sid", sids.VARIABLE)),
    ),
    Route("GET", f"{S}/Builds", builds.list_builds),
    Route("POST", f"{S}/Builds", builds.create_build),
    Route("GET", f"{S}/Builds/{{Sid}}", builds.fetch_build, (("Sid", sids.BUILD),)),
    Route("DELETE", f"{S}/Builds/{{Sid}}", builds.delete_build, (("Sid", sids.BUILD),)),
    Route("GET", f"{S}/Builds/{{Sid}}/Status", builds.fetch_build_status, (("Sid", sids.BUILD),)),
    *_resource_routes(FUNCTION_HANDLERS),
    Route(
        "GET",
        f"{S}/Functions/{{FunctionSid}}/Versions/{{Sid}}/Content",
        fetch_function_version_content,
        (("FunctionSid", sids.FUNCTION), ("Sid", sids.FUNCTION_VERSION)),
    ),
    *_resource_routes(ASSET_HANDLERS),
)


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request, or the Twilio error for not having one."""
    allowed = False
    for route in ROUTES:
        match = route.regex.match(path)
        if match is None:
            continue
        if route.method != method:
            allowed = True
            continue
        params = match.groupdict()
        for name, prefix in route.prefixes:
            if not sids.is_sid(params[name], prefix):
                raise InvalidParameter(
                    f"Invalid {name}: '{params[name]}' does not match ^{prefix}[0-9a-fA-F]{{32}}$"
                )
        return route, params
    if allowed:
        raise MethodNotAllowed(f"Method {method} not allowed on {path}")
    raise not_found(path)


def dispatch(
    store: Store,
    *,
    method: str,
    path: str,
    query: dict[str, list[str]],
    form: dict[str, list[str]],
    base: str,
) -> ApiResponse:
    route, params = resolve(method, path)
    request = ApiRequest(
        method=method, path=path, query=query, form=form, params=params, base=base, store=store
    )
    # One lock around the whole operation: reads see a consistent state and
    # check-then-write rules (409 on a repeated deployment) cannot race.
    with store.lock:
        return route.handler(request)
