"""/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments[/{Sid}]."""

from __future__ import annotations

from .. import sids, wire
from ..errors import InvalidParameter
from .context import ApiRequest, ApiResponse, listing


def list_deployments(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="deployments",
        parent_sid=request.params["EnvironmentSid"],
        items=request.store.deployments(
            request.params["EnvironmentSid"], service=request.params["ServiceSid"]
        ),
        renderer=wire.deployment,
        newest_first=True,
    )


def create_deployment(request: ApiRequest) -> ApiResponse:
    # No BuildSid = clear the environment (see Store.deploy for what is kept).
    build_sid = request.value("BuildSid") or None
    if build_sid is not None and not sids.is_sid(build_sid, sids.BUILD):
        raise InvalidParameter(f"Invalid BuildSid: '{build_sid}' is not a {sids.BUILD} SID")
    request.boolean("IsPlugin")  # accepted and validated; plugins are not emulated
    deployment = request.store.deploy(
        request.params["EnvironmentSid"], build_sid, service=request.params["ServiceSid"]
    )
    return ApiResponse(201, request.render(wire.deployment, deployment))


def fetch_deployment(request: ApiRequest) -> ApiResponse:
    deployment = request.store.deployment(
        request.params["Sid"],
        environment_sid=request.params["EnvironmentSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.deployment, deployment))
