"""/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Variables[/{Sid}]."""

from __future__ import annotations

from .. import wire
from .context import ApiRequest, ApiResponse, listing


def list_variables(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="variables",
        parent_sid=request.params["EnvironmentSid"],
        items=request.store.variables(
            request.params["EnvironmentSid"], service=request.params["ServiceSid"]
        ),
        renderer=wire.variable,
        newest_first=False,
    )


def create_variable(request: ApiRequest) -> ApiResponse:
    variable = request.store.create_variable(
        request.params["EnvironmentSid"],
        key=request.required("Key"),
        value=request.required("Value"),
        service=request.params["ServiceSid"],
    )
    return ApiResponse(201, request.render(wire.variable, variable))


def fetch_variable(request: ApiRequest) -> ApiResponse:
    variable = request.store.variable(
        request.params["Sid"],
        environment_sid=request.params["EnvironmentSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.variable, variable))


def update_variable(request: ApiRequest) -> ApiResponse:
    variable = request.store.update_variable(
        request.params["Sid"],
        key=request.value("Key"),
        value=request.value("Value"),
        environment_sid=request.params["EnvironmentSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.variable, variable))


def delete_variable(request: ApiRequest) -> ApiResponse:
    request.store.delete_variable(
        request.params["Sid"],
        environment_sid=request.params["EnvironmentSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(204)
