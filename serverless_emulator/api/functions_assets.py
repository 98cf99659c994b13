"""/v1/Services/{ServiceSid}/Functions and /Assets, their Versions, and Version Content.

One set of handlers serves both resources, parametrised by kind; only
Function Versions have a Content sub-resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic

from .. import wire
from ..records import Asset, AssetVersion, Function, FunctionVersion
from ..store import ASSETS, FUNCTIONS, ResourceKind
from ..store.functions_assets import P, V
from .context import ApiRequest, ApiResponse, Json, listing


@dataclass(frozen=True)
class ResourceHandlers(Generic[P, V]):
    kind: ResourceKind[P, V]
    segment: str  # the path segment: "Functions", "Assets"
    parent_param: str  # how the Versions' paths name the resource: "FunctionSid"
    list_key: str
    versions_key: str
    render: Callable[..., Json]
    render_version: Callable[..., Json]

    def list(self, request: ApiRequest) -> ApiResponse:
        return listing(
            request,
            list_key=self.list_key,
            parent_sid=request.service_sid(),
            items=request.store.resources(self.kind, request.params["ServiceSid"]),
            renderer=self.render,
            newest_first=False,
        )

    def create(self, request: ApiRequest) -> ApiResponse:
        resource = request.store.create_resource(
            self.kind, request.params["ServiceSid"], friendly_name=request.required("FriendlyName")
        )
        return ApiResponse(201, request.render(self.render, resource))

    def fetch(self, request: ApiRequest) -> ApiResponse:
        resource = request.store.resource(
            self.kind, request.params["Sid"], service=request.params["ServiceSid"]
        )
        return ApiResponse(200, request.render(self.render, resource))

    def update(self, request: ApiRequest) -> ApiResponse:
        resource = request.store.update_resource(
            self.kind,
            request.params["Sid"],
            friendly_name=request.required("FriendlyName"),
            service=request.params["ServiceSid"],
        )
        return ApiResponse(200, request.render(self.render, resource))

    def delete(self, request: ApiRequest) -> ApiResponse:
        request.store.delete_resource(
            self.kind, request.params["Sid"], service=request.params["ServiceSid"]
        )
        return ApiResponse(204)

    def list_versions(self, request: ApiRequest) -> ApiResponse:
        return listing(
            request,
            list_key=self.versions_key,
            parent_sid=request.params[self.parent_param],
            items=request.store.resource_versions(
                self.kind, request.params[self.parent_param], service=request.params["ServiceSid"]
            ),
            renderer=self.render_version,
            newest_first=True,
        )

    def fetch_version(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, request.render(self.render_version, self.version(request)))

    def version(self, request: ApiRequest) -> V:
        return request.store.resource_version(
            self.kind,
            request.params["Sid"],
            parent_sid=request.params[self.parent_param],
            service=request.params["ServiceSid"],
        )


FUNCTION_HANDLERS: ResourceHandlers[Function, FunctionVersion] = ResourceHandlers(
    kind=FUNCTIONS,
    segment="Functions",
    parent_param="FunctionSid",
    list_key="functions",
    versions_key="function_versions",
    render=wire.function,
    render_version=wire.function_version,
)
ASSET_HANDLERS: ResourceHandlers[Asset, AssetVersion] = ResourceHandlers(
    kind=ASSETS,
    segment="Assets",
    parent_param="AssetSid",
    list_key="assets",
    versions_key="asset_versions",
    render=wire.asset,
    render_version=wire.asset_version,
)


def fetch_function_version_content(request: ApiRequest) -> ApiResponse:
    version = FUNCTION_HANDLERS.version(request)
    return ApiResponse(200, request.render(wire.function_version_content, version))
