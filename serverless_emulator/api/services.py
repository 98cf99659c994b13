"""/v1/Services and /v1/Services/{Sid}."""

from __future__ import annotations

from .. import wire
from .context import ApiRequest, ApiResponse, listing


def list_services(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="services",
        parent_sid="",
        items=request.store.services(),
        renderer=wire.service,
        newest_first=False,
    )


def create_service(request: ApiRequest) -> ApiResponse:
    include_credentials = request.boolean("IncludeCredentials")
    service = request.store.create_service(
        unique_name=request.required("UniqueName"),
        friendly_name=request.required("FriendlyName"),
        # Defaults from the spec's parameter descriptions.
        include_credentials=True if include_credentials is None else include_credentials,
        ui_editable=bool(request.boolean("UiEditable")),
    )
    return ApiResponse(201, request.render(wire.service, service))


def fetch_service(request: ApiRequest) -> ApiResponse:
    return ApiResponse(
        200, request.render(wire.service, request.store.service(request.params["Sid"]))
    )


def update_service(request: ApiRequest) -> ApiResponse:
    service = request.store.update_service(
        request.params["Sid"],
        friendly_name=request.value("FriendlyName"),
        include_credentials=request.boolean("IncludeCredentials"),
        ui_editable=request.boolean("UiEditable"),
    )
    return ApiResponse(200, request.render(wire.service, service))


def delete_service(request: ApiRequest) -> ApiResponse:
    request.store.delete_service(request.params["Sid"])
    return ApiResponse(204)
