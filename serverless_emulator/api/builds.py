"""/v1/Services/{ServiceSid}/Builds[/{Sid}[/Status]]."""

from __future__ import annotations

import json

from .. import sids, wire
from ..errors import InvalidParameter
from .context import ApiRequest, ApiResponse, listing


def list_builds(request: ApiRequest) -> ApiResponse:
    return listing(
        request,
        list_key="builds",
        parent_sid=request.service_sid(),
        items=request.store.builds(request.params["ServiceSid"]),
        renderer=wire.build,
        newest_first=True,
    )


def create_build(request: ApiRequest) -> ApiResponse:
    build = request.store.create_build(
        request.params["ServiceSid"],
        function_versions=request.sid_list("FunctionVersions", sids.FUNCTION_VERSION),
        asset_versions=request.sid_list("AssetVersions", sids.ASSET_VERSION),
        dependencies=_dependencies(request.value("Dependencies")),
        runtime=request.value("Runtime"),
    )
    return ApiResponse(201, request.render(wire.build, build))


def _dependencies(raw: str | None) -> list[dict[str, str]]:
    # A JSON string in the form body: [{"name": "twilio", "version": "5.3.0"}, ...]
    if raw is None or not raw.strip():
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidParameter(
            "Dependencies must be a JSON array of {name, version} objects"
        ) from None
    if not isinstance(parsed, list):
        raise InvalidParameter("Dependencies must be a JSON array of {name, version} objects")
    return parsed


def fetch_build(request: ApiRequest) -> ApiResponse:
    build = request.store.build(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(200, request.render(wire.build, build))


def fetch_build_status(request: ApiRequest) -> ApiResponse:
    build = request.store.build(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(200, request.render(wire.build_status, build))


def delete_build(request: ApiRequest) -> ApiResponse:
    request.store.delete_build(request.params["Sid"], service=request.params["ServiceSid"])
    return ApiResponse(204)
