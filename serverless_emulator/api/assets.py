"""/v1/Services/{ServiceSid}/Assets and their Versions."""

from __future__ import annotations

from .. import wire
from .context import ApiRequest, ApiResponse, listing


def list_assets(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="assets",
        parent_sid=request.service_sid(),
        items=request.store.assets(request.params["ServiceSid"]),
        renderer=wire.asset,
        newest_first=False,
    )


def create_asset(request: ApiRequest) -> ApiResponse:
    asset = request.store.create_asset(
        request.params["ServiceSid"], friendly_name=request.required("FriendlyName")
    )
    return ApiResponse(201, request.render(wire.asset, asset))


def fetch_asset(request: ApiRequest) -> ApiResponse:
    asset = request.store.asset(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(200, request.render(wire.asset, asset))


def update_asset(request: ApiRequest) -> ApiResponse:
    asset = request.store.update_asset(
        request.params["Sid"],
        friendly_name=request.required("FriendlyName"),
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.asset, asset))


def delete_asset(request: ApiRequest) -> ApiResponse:
    request.store.delete_asset(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(204)


def list_asset_versions(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="asset_versions",
        parent_sid=request.params["AssetSid"],
        items=request.store.asset_versions(
            request.params["AssetSid"], service=request.params["ServiceSid"]
        ),
        renderer=wire.asset_version,
        newest_first=True,
    )


def fetch_asset_version(request: ApiRequest) -> ApiResponse:
    version = request.store.asset_version(
        request.params["Sid"],
        asset_sid=request.params["AssetSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.asset_version, version))
