"""/v1/Services/{ServiceSid}/Functions, their Versions and Version Content."""

from __future__ import annotations

from .. import wire
from .context import ApiRequest, ApiResponse, listing


def list_functions(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="functions",
        parent_sid=request.service_sid(),
        items=request.store.functions(request.params["ServiceSid"]),
        renderer=wire.function,
        newest_first=False,
    )


def create_function(request: ApiRequest) -> ApiResponse:
    function = request.store.create_function(
        request.params["ServiceSid"], friendly_name=request.required("FriendlyName")
    )
    return ApiResponse(201, request.render(wire.function, function))


def fetch_function(request: ApiRequest) -> ApiResponse:
    function = request.store.function(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(200, request.render(wire.function, function))


def update_function(request: ApiRequest) -> ApiResponse:
    function = request.store.update_function(
        request.params["Sid"],
        friendly_name=request.required("FriendlyName"),
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.function, function))


def delete_function(request: ApiRequest) -> ApiResponse:
    request.store.delete_function(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(204)


def list_function_versions(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="function_versions",
        parent_sid=request.params["FunctionSid"],
        items=request.store.function_versions(
            request.params["FunctionSid"], service=request.params["ServiceSid"]
        ),
        renderer=wire.function_version,
        newest_first=True,
    )


def fetch_function_version(request: ApiRequest) -> ApiResponse:
    version = request.store.function_version(
        request.params["Sid"],
        function_sid=request.params["FunctionSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.function_version, version))


def fetch_function_version_content(request: ApiRequest) -> ApiResponse:
    version = request.store.function_version(
        request.params["Sid"],
        function_sid=request.params["FunctionSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.function_version_content, version))
