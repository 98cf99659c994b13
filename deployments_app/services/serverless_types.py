"""Typed results of the Twilio Serverless client, and their parsing from JSON.

Frozen dataclasses, one per resource of the spec (`twilio_serverless_v1.json`,
components/schemas). Parsing follows the spec's own tolerance: every field is nullable
there, so every field here may be None (except `sid`), unknown extra fields are ignored,
and dates become aware UTC datetimes (None when absent or unreadable).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

__all__ = [
    "BUILD_BUILDING",
    "BUILD_COMPLETED",
    "BUILD_FAILED",
    "AssetVersion",
    "Build",
    "BuildStatus",
    "Dependency",
    "Deployment",
    "DeploymentResult",
    "Environment",
    "Function",
    "FunctionVersion",
    "LiveState",
    "Log",
    "Page",
    "Service",
    "Variable",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# build_enum_status / build_status_enum_status in the spec.
BUILD_BUILDING = "building"
BUILD_COMPLETED = "completed"
BUILD_FAILED = "failed"


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 string from Twilio as an aware datetime (UTC when no offset is given)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        logger.debug("Ignoring an unreadable date from Twilio: %r", value[:40])
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None


def _lower(value: str | None) -> str | None:
    # The spec's examples say "PUBLIC" where its enums say "public".
    return value.lower() if value is not None else None


def _items(value: object) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


@dataclass(frozen=True)
class Service:
    sid: str
    account_sid: str | None
    unique_name: str | None
    friendly_name: str | None
    include_credentials: bool | None
    ui_editable: bool | None
    domain_base: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Service:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            unique_name=_str(data, "unique_name"),
            friendly_name=_str(data, "friendly_name"),
            include_credentials=_bool(data, "include_credentials"),
            ui_editable=_bool(data, "ui_editable"),
            domain_base=_str(data, "domain_base"),
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Environment:
    sid: str
    account_sid: str | None
    service_sid: str | None
    # What is live: the only source of truth for it. None when nothing is deployed.
    build_sid: str | None
    unique_name: str | None
    domain_suffix: str | None
    domain_name: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Environment:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            build_sid=_str(data, "build_sid") or None,
            unique_name=_str(data, "unique_name"),
            domain_suffix=_str(data, "domain_suffix"),
            domain_name=_str(data, "domain_name"),
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class FunctionVersion:
    """A Function Version: an entry of a Build's manifest, or of a Function's versions."""

    sid: str
    function_sid: str | None
    path: str | None
    visibility: str | None
    date_created: datetime | None
    account_sid: str | None = None
    service_sid: str | None = None
    url: str | None = None

    @classmethod
    def from_json(cls, data: object) -> FunctionVersion:
        # The spec describes these as "SIDs" but its examples (and Twilio) send objects.
        if isinstance(data, str):
            return cls(sid=data, function_sid=None, path=None, visibility=None, date_created=None)
        item: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(
            sid=str(item.get("sid") or ""),
            function_sid=_str(item, "function_sid"),
            path=_str(item, "path"),
            visibility=_lower(_str(item, "visibility")),
            date_created=parse_datetime(item.get("date_created")),
            account_sid=_str(item, "account_sid"),
            service_sid=_str(item, "service_sid"),
            url=_str(item, "url"),
        )


@dataclass(frozen=True)
class AssetVersion:
    """An Asset Version: an entry of a Build's manifest, or of an Asset's versions."""

    sid: str
    asset_sid: str | None
    path: str | None
    visibility: str | None
    date_created: datetime | None
    account_sid: str | None = None
    service_sid: str | None = None
    url: str | None = None

    @classmethod
    def from_json(cls, data: object) -> AssetVersion:
        if isinstance(data, str):
            return cls(sid=data, asset_sid=None, path=None, visibility=None, date_created=None)
        item: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(
            sid=str(item.get("sid") or ""),
            asset_sid=_str(item, "asset_sid"),
            path=_str(item, "path"),
            visibility=_lower(_str(item, "visibility")),
            date_created=parse_datetime(item.get("date_created")),
            account_sid=_str(item, "account_sid"),
            service_sid=_str(item, "service_sid"),
            url=_str(item, "url"),
        )


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str | None

    @classmethod
    def from_json(cls, data: object) -> Dependency:
        item: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(name=str(item.get("name") or ""), version=_str(item, "version"))


@dataclass(frozen=True)
class Build:
    """A Build with its full manifest (functions, assets, dependencies, runtime).

    A completed build never changes, so it is safe to keep (build diffs need it).
    """

    sid: str
    account_sid: str | None
    service_sid: str | None
    status: str | None
    runtime: str | None
    function_versions: tuple[FunctionVersion, ...]
    asset_versions: tuple[AssetVersion, ...]
    dependencies: tuple[Dependency, ...]
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @property
    def is_completed(self) -> bool:
        return self.status == BUILD_COMPLETED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Build:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            status=_str(data, "status"),
            runtime=_str(data, "runtime"),
            function_versions=tuple(
                FunctionVersion.from_json(item) for item in _items(data.get("function_versions"))
            ),
            asset_versions=tuple(
                AssetVersion.from_json(item) for item in _items(data.get("asset_versions"))
            ),
            dependencies=tuple(
                Dependency.from_json(item) for item in _items(data.get("dependencies"))
            ),
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class BuildStatus:
    sid: str
    account_sid: str | None
    service_sid: str | None
    status: str | None
    url: str | None

    @property
    def is_completed(self) -> bool:
        return self.status == BUILD_COMPLETED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildStatus:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            status=_str(data, "status"),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Deployment:
    sid: str
    account_sid: str | None
    service_sid: str | None
    environment_sid: str | None
    # None for a deployment that cleared the environment.
    build_sid: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            environment_sid=_str(data, "environment_sid"),
            build_sid=_str(data, "build_sid") or None,
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Function:
    sid: str
    account_sid: str | None
    service_sid: str | None
    friendly_name: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Function:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            friendly_name=_str(data, "friendly_name"),
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Log:
    sid: str
    account_sid: str | None
    service_sid: str | None
    environment_sid: str | None
    build_sid: str | None
    deployment_sid: str | None
    function_sid: str | None
    request_sid: str | None
    level: str | None
    message: str | None
    date_created: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Log:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            environment_sid=_str(data, "environment_sid"),
            build_sid=_str(data, "build_sid"),
            deployment_sid=_str(data, "deployment_sid"),
            function_sid=_str(data, "function_sid"),
            request_sid=_str(data, "request_sid"),
            level=_str(data, "level"),
            message=_str(data, "message"),
            date_created=parse_datetime(data.get("date_created")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Variable:
    sid: str
    account_sid: str | None
    service_sid: str | None
    environment_sid: str | None
    key: str | None
    # Environment variables often hold secrets: kept out of repr (and so out of logs).
    value: str | None = field(repr=False)
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variable:
        return cls(
            sid=str(data.get("sid") or ""),
            account_sid=_str(data, "account_sid"),
            service_sid=_str(data, "service_sid"),
            environment_sid=_str(data, "environment_sid"),
            key=_str(data, "key"),
            value=_str(data, "value"),
            date_created=parse_datetime(data.get("date_created")),
            date_updated=parse_datetime(data.get("date_updated")),
            url=_str(data, "url"),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and an opaque cursor for the next one (None at the end).

    The cursor is safe to put in a URL; pass it back to the same `*_page` call to get the
    next page in exactly one upstream request.
    """

    items: tuple[T, ...]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


@dataclass(frozen=True)
class LiveState:
    """What is live in an environment, and since when.

    `environment.build_sid` is the only truth about what is live. `deployment` is the
    newest deployment of that build (whatever order Twilio lists deployments in), or None
    when nothing is live or no deployment of it was found.
    """

    environment: Environment
    deployment: Deployment | None

    @property
    def build_sid(self) -> str | None:
        return self.environment.build_sid

    @property
    def live_since(self) -> datetime | None:
        return self.deployment.date_created if self.deployment else None


@dataclass(frozen=True)
class DeploymentResult:
    """The outcome of a deployment write (deployment_create, promote, rollback, clear).

    - `already_live`: nothing was changed because the requested state was already live
      (the build is live on the target, or the environment was already clear); Twilio's
      409/20409 also lands here. `deployment` is then None.
    - `confirmed_by_reread`: Twilio's answer to the POST was lost (timeout, dropped
      connection, 5xx, unreadable body) and re-reading the environment showed that the
      deployment did take effect. `deployment` is then the newest deployment of the build
      found in the history, or None if it could not be found.
    A deployment that did not take effect is never a result: it raises
    DeploymentNotApplied (or DeploymentOutcomeUnknown when the re-read failed too).
    """

    service_sid: str
    environment_sid: str
    # The build asked for; None for a clear.
    build_sid: str | None
    deployment: Deployment | None
    already_live: bool = False
    confirmed_by_reread: bool = False
    # What was live before, when the caller read it (promote/rollback/clear do).
    previous_build_sid: str | None = None

    @property
    def changed(self) -> bool:
        return not self.already_live
