"""/v1/Services/{ServiceSid}/Environments[/{Sid}]."""

from __future__ import annotations

from .. import wire
from .context import ApiRequest, ApiResponse, listing


def list_environments(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="environments",
        parent_sid=request.service_sid(),
        items=request.store.environments(request.params["ServiceSid"]),
        renderer=wire.environment,
        newest_first=False,
    )


def create_environment(request: ApiRequest) -> ApiResponse:
    environment = request.store.create_environment(
        request.params["ServiceSid"],
        unique_name=request.required("UniqueName"),
        domain_suffix=request.value("DomainSuffix"),
    )
    return ApiResponse(201, request.render(wire.environment, environment))


def fetch_environment(request: ApiRequest) -> ApiResponse:
    environment = request.store.environment(
        request.params["Sid"], service=request.params["ServiceSid"]
    )
    return ApiResponse(200, request.render(wire.environment, environment))


def delete_environment(request: ApiRequest) -> ApiResponse:
    request.store.delete_environment(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(204)
