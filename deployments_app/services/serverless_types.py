"""Typed results of the Twilio Serverless client, and their parsing from JSON.

Frozen dataclasses, one per resource of the spec (`twilio_serverless_v1.json`,
components/schemas), each field named as Twilio's snake_case JSON key. One parser,
`from_json`, reads any of them by its fields' types, with the spec's own tolerance:
every field is nullable there, so every field here may be None (except `sid`), unknown
extra fields are ignored, and dates become aware UTC datetimes (None when absent or
unreadable).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar, get_args, get_origin, get_type_hints

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


# --- reading one JSON value ---------------------------------------------------------------


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


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _required_text(value: object) -> str:
    return str(value or "")


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _blank_is_none(value: object) -> str | None:
    # A clear's build_sid: Twilio sends null, some proxies and old responses "".
    return _text(value) or None


def _lowered(value: object) -> str | None:
    # The spec's examples say "PUBLIC" where its enums say "public".
    text = _text(value)
    return text.lower() if text is not None else None


# A field whose JSON value needs more than its type says names its reader here.
_READ = "read"
_BLANK_IS_NONE: Mapping[str, Any] = {_READ: _blank_is_none}
_LOWERED: Mapping[str, Any] = {_READ: _lowered}

_READERS: dict[object, Callable[[object], object]] = {
    str: _required_text,
    str | None: _text,
    bool | None: _flag,
    datetime | None: parse_datetime,
}


def _reader(hint: object) -> Callable[[object], object]:
    if get_origin(hint) is tuple:
        item_type = get_args(hint)[0]
        return lambda value: (
            tuple(item_type.from_json(item) for item in value) if isinstance(value, list) else ()
        )
    try:
        return _READERS[hint]
    except KeyError:
        raise TypeError(f"no JSON reader for fields of type {hint!r}") from None


_Plan = tuple[tuple[str, Callable[[object], object]], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    """(JSON key, reader) for each field of a resource, from its type and metadata."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        plan = tuple(
            (f.name, f.metadata.get(_READ) or _reader(hints[f.name]))
            for f in dataclasses.fields(cls)
        )
        _PLANS[cls] = plan
    return plan


class _Resource:
    """Base of the resources: `from_json` builds one from Twilio's JSON object."""

    @classmethod
    def from_json(cls, data: object) -> Self:
        # A Build's manifest entries may be bare SIDs: the spec's description of
        # function_versions/asset_versions says "SIDs", its examples (and Twilio) objects.
        item: Mapping[str, Any] = (
            data if isinstance(data, Mapping) else {"sid": data} if isinstance(data, str) else {}
        )
        get = item.get
        # Positionally, in field order (a dataclass's __init__ order): faster than by
        # keyword, and parsing is per item of every list.
        return cls(*[read(get(key)) for key, read in _plan(cls)])


# --- the resources --------------------------------------------------------------------------


@dataclass(frozen=True)
class Service(_Resource):
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


@dataclass(frozen=True)
class Environment(_Resource):
    sid: str
    account_sid: str | None
    service_sid: str | None
    # What is live: the only source of truth for it. None when nothing is deployed.
    build_sid: str | None = field(metadata=_BLANK_IS_NONE)
    unique_name: str | None
    domain_suffix: str | None
    domain_name: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None


@dataclass(frozen=True)
class _Version(_Resource):
    """What a Function Version and an Asset Version have alike (the spec's two schemas)."""

    sid: str
    path: str | None
    visibility: str | None = field(metadata=_LOWERED)
    date_created: datetime | None
    account_sid: str | None = None
    service_sid: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FunctionVersion(_Version):
    """A Function Version: an entry of a Build's manifest, or of a Function's versions."""

    function_sid: str | None = None


@dataclass(frozen=True)
class AssetVersion(_Version):
    """An Asset Version: an entry of a Build's manifest, or of an Asset's versions."""

    asset_sid: str | None = None


@dataclass(frozen=True)
class Dependency(_Resource):
    name: str
    version: str | None


@dataclass(frozen=True)
class Build(_Resource):
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


@dataclass(frozen=True)
class BuildStatus(_Resource):
    sid: str
    account_sid: str | None
    service_sid: str | None
    status: str | None
    url: str | None

    @property
    def is_completed(self) -> bool:
        return self.status == BUILD_COMPLETED


@dataclass(frozen=True)
class Deployment(_Resource):
    sid: str
    account_sid: str | None
    service_sid: str | None
    environment_sid: str | None
    # None for a deployment that cleared the environment.
    build_sid: str | None = field(metadata=_BLANK_IS_NONE)
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None


@dataclass(frozen=True)
class Function(_Resource):
    sid: str
    account_sid: str | None
    service_sid: str | None
    friendly_name: str | None
    date_created: datetime | None
    date_updated: datetime | None
    url: str | None


@dataclass(frozen=True)
class Log(_Resource):
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


@dataclass(frozen=True)
class Variable(_Resource):
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


# --- what the client returns around them -----------------------------------------------------


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
class DeploymentResult:
    """The outcome of a deployment write (`ServerlessClient.deployment_create`).

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
    # What was live before, when the caller read it.
    previous_build_sid: str | None = None

    @property
    def changed(self) -> bool:
        return not self.already_live
