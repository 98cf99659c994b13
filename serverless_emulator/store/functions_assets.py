"""Functions and Assets with their Versions: one implementation, two kinds.

The two resources follow the same rules (a name, Versions newest first,
deleting the resource deletes its Versions); they differ only in tables, SID
prefixes, labels and the Function Version's `content`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .. import sids
from ..errors import InvalidParameter, NotFound
from ..records import Asset, AssetVersion, Function, FunctionVersion, VersionRef
from .core import StoreCore, Tables, check_length, copy_record, ordered

# Enum from the spec (*_enum_visibility).
VISIBILITIES = ("public", "private", "protected")

P = TypeVar("P", Function, Asset)
V = TypeVar("V", FunctionVersion, AssetVersion)


@dataclass(frozen=True)
class ResourceKind(Generic[P, V]):
    label: str  # as in messages: "Function", "Asset"
    prefix: str
    version_prefix: str
    record: type[P]
    version: type[V]
    parent_field: str  # the Version's field naming its resource
    has_content: bool
    table: Callable[[Tables], dict[str, P]]
    version_table: Callable[[Tables], dict[str, V]]

    def version_ref(self, tables: Tables, service_sid: str, sid: str) -> VersionRef:
        """The Version as a Build freezes it; 400 when the Service has no such Version."""
        version = self.version_table(tables).get(sid)
        if version is None or version.service_sid != service_sid:
            raise InvalidParameter(
                f"{self.label} Version {sid} does not exist in Service {service_sid}"
            )
        return VersionRef(
            sid=version.sid,
            parent_sid=version.parent_sid,
            path=version.path,
            visibility=version.visibility,
            date_created=version.date_created,
        )


FUNCTIONS: ResourceKind[Function, FunctionVersion] = ResourceKind(
    label="Function",
    prefix=sids.FUNCTION,
    version_prefix=sids.FUNCTION_VERSION,
    record=Function,
    version=FunctionVersion,
    parent_field="function_sid",
    has_content=True,
    table=lambda t: t.functions,
    version_table=lambda t: t.function_versions,
)
ASSETS: ResourceKind[Asset, AssetVersion] = ResourceKind(
    label="Asset",
    prefix=sids.ASSET,
    version_prefix=sids.ASSET_VERSION,
    record=Asset,
    version=AssetVersion,
    parent_field="asset_sid",
    has_content=False,
    table=lambda t: t.assets,
    version_table=lambda t: t.asset_versions,
)


class FunctionsAndAssets(StoreCore):
    # ------------------------------------------------- either kind, by `kind`

    def resources(self, kind: ResourceKind[P, V], service: str) -> list[P]:
        with self.lock:
            owner = self._service(service).sid
            return ordered(
                (r for r in kind.table(self._t).values() if r.service_sid == owner),
                newest_first=False,
            )

    def resource(self, kind: ResourceKind[P, V], sid: str, *, service: str | None = None) -> P:
        with self.lock:
            return copy_record(self._owned(kind.table(self._t), sid, service, kind.label))

    def create_resource(
        self,
        kind: ResourceKind[P, V],
        service: str,
        *,
        friendly_name: str,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> P:
        check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            owner = self._service(service)
            now = self._now(date_created)
            resource = kind.record(
                sid=sid or sids.random_sid(kind.prefix),
                service_sid=owner.sid,
                friendly_name=friendly_name,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            return self._insert(kind.table(self._t), resource)

    def update_resource(
        self,
        kind: ResourceKind[P, V],
        sid: str,
        *,
        friendly_name: str,
        service: str | None = None,
    ) -> P:
        check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            resource = self._owned(kind.table(self._t), sid, service, kind.label)
            resource.friendly_name = friendly_name
            resource.date_updated = self.clock()
            self.save()
            return copy_record(resource)

    def delete_resource(
        self, kind: ResourceKind[P, V], sid: str, *, service: str | None = None
    ) -> None:
        with self.lock:
            resource = self._owned(kind.table(self._t), sid, service, kind.label)
            versions = kind.version_table(self._t)
            for child in [v.sid for v in versions.values() if v.parent_sid == resource.sid]:
                del versions[child]
            del kind.table(self._t)[resource.sid]
            self.save()

    def resource_versions(
        self, kind: ResourceKind[P, V], parent_sid: str, *, service: str | None = None
    ) -> list[V]:
        with self.lock:
            parent = self._owned(kind.table(self._t), parent_sid, service, kind.label)
            return ordered(
                (v for v in kind.version_table(self._t).values() if v.parent_sid == parent.sid),
                newest_first=True,
            )

    def resource_version(
        self,
        kind: ResourceKind[P, V],
        sid: str,
        *,
        parent_sid: str | None = None,
        service: str | None = None,
    ) -> V:
        label = f"{kind.label} Version"
        with self.lock:
            version = self._owned(kind.version_table(self._t), sid, service, label)
            if parent_sid is not None and version.parent_sid != parent_sid:
                raise NotFound(f"{label} {sid} not found")
            return copy_record(version)

    def create_resource_version(
        self,
        kind: ResourceKind[P, V],
        parent_sid: str,
        *,
        path: str,
        visibility: str = "public",
        content: str = "",
        sid: str | None = None,
        date_created: float | None = None,
    ) -> V:
        """Stand-in for Twilio's upload endpoint, which this spec does not cover."""
        if visibility not in VISIBILITIES:
            raise InvalidParameter(f"Visibility must be one of {', '.join(VISIBILITIES)}")
        with self.lock:
            parent = self._owned(kind.table(self._t), parent_sid, None, kind.label)
            values: dict[str, Any] = {
                "sid": sid or sids.random_sid(kind.version_prefix),
                "service_sid": parent.service_sid,
                kind.parent_field: parent.sid,
                # The spec: "a path not containing a leading slash ... will be
                # prepended with one".
                "path": path if path.startswith("/") else "/" + path,
                "visibility": visibility,
                "date_created": self._now(date_created),
                "seq": self._next_seq(),
            }
            if kind.has_content:
                values["content"] = content
            version = kind.version(**values)
            return self._insert(kind.version_table(self._t), version)

    # ------------------------------------------- the typed names callers use

    def functions(self, service: str) -> list[Function]:
        return self.resources(FUNCTIONS, service)

    def function(self, sid: str, *, service: str | None = None) -> Function:
        return self.resource(FUNCTIONS, sid, service=service)

    def create_function(
        self,
        service: str,
        *,
        friendly_name: str,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Function:
        return self.create_resource(
            FUNCTIONS, service, friendly_name=friendly_name, sid=sid, date_created=date_created
        )

    def update_function(
        self, sid: str, *, friendly_name: str, service: str | None = None
    ) -> Function:
        return self.update_resource(FUNCTIONS, sid, friendly_name=friendly_name, service=service)

    def delete_function(self, sid: str, *, service: str | None = None) -> None:
        self.delete_resource(FUNCTIONS, sid, service=service)

    def function_versions(
        self, function_sid: str, *, service: str | None = None
    ) -> list[FunctionVersion]:
        return self.resource_versions(FUNCTIONS, function_sid, service=service)

    def function_version(
        self, sid: str, *, function_sid: str | None = None, service: str | None = None
    ) -> FunctionVersion:
        return self.resource_version(FUNCTIONS, sid, parent_sid=function_sid, service=service)

    def create_function_version(
        self,
        function_sid: str,
        *,
        path: str,
        visibility: str = "public",
        content: str = "",
        sid: str | None = None,
        date_created: float | None = None,
    ) -> FunctionVersion:
        return self.create_resource_version(
            FUNCTIONS,
            function_sid,
            path=path,
            visibility=visibility,
            content=content,
            sid=sid,
            date_created=date_created,
        )

    def assets(self, service: str) -> list[Asset]:
        return self.resources(ASSETS, service)

    def asset(self, sid: str, *, service: str | None = None) -> Asset:
        return self.resource(ASSETS, sid, service=service)

    def create_asset(
        self,
        service: str,
        *,
        friendly_name: str,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Asset:
        return self.create_resource(
            ASSETS, service, friendly_name=friendly_name, sid=sid, date_created=date_created
        )

    def update_asset(self, sid: str, *, friendly_name: str, service: str | None = None) -> Asset:
        return self.update_resource(ASSETS, sid, friendly_name=friendly_name, service=service)

    def delete_asset(self, sid: str, *, service: str | None = None) -> None:
        self.delete_resource(ASSETS, sid, service=service)

    def asset_versions(self, asset_sid: str, *, service: str | None = None) -> list[AssetVersion]:
        return self.resource_versions(ASSETS, asset_sid, service=service)

    def asset_version(
        self, sid: str, *, asset_sid: str | None = None, service: str | None = None
    ) -> AssetVersion:
        return self.resource_version(ASSETS, sid, parent_sid=asset_sid, service=service)

    def create_asset_version(
        self,
        asset_sid: str,
        *,
        path: str,
        visibility: str = "public",
        sid: str | None = None,
        date_created: float | None = None,
    ) -> AssetVersion:
        return self.create_resource_version(
            ASSETS, asset_sid, path=path, visibility=visibility, sid=sid, date_created=date_created
        )
