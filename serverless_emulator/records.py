"""The emulator's state, one dataclass per Serverless resource.

Dates are float epoch seconds; `seq` is a store-wide creation counter that
breaks ties between records created within the same instant, so every list has
a total order that page tokens can point into.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass
class Service:
    sid: str
    unique_name: str
    friendly_name: str
    include_credentials: bool
    ui_editable: bool
    domain_base: str
    date_created: float
    date_updated: float
    seq: int


@dataclass
class Environment:
    sid: str
    service_sid: str
    unique_name: str
    domain_suffix: str | None
    domain_name: str
    build_sid: str | None
    date_created: float
    date_updated: float
    seq: int


@dataclass
class Resource:
    """What a Function and an Asset hold: a name; their code lives in Versions."""

    sid: str
    service_sid: str
    friendly_name: str
    date_created: float
    date_updated: float
    seq: int


@dataclass
class Function(Resource):
    """Code served at a path; each Version holds one revision of it."""


@dataclass
class FunctionVersion:
    sid: str
    service_sid: str
    function_sid: str
    path: str
    visibility: str
    content: str
    date_created: float
    seq: int

    @property
    def parent_sid(self) -> str:
        return self.function_sid


@dataclass
class Asset(Resource):
    """A static file served at a path; each Version holds one revision of it."""


@dataclass
class AssetVersion:
    sid: str
    service_sid: str
    asset_sid: str
    path: str
    visibility: str
    date_created: float
    seq: int

    @property
    def parent_sid(self) -> str:
        return self.asset_sid


@dataclass(frozen=True)
class VersionRef:
    """A Function or Asset Version as frozen into a Build when it was made.

    A copy, not a reference: deleting the Function later must not change what
    an old Build says it contains.
    """

    sid: str
    parent_sid: str
    path: str
    visibility: str
    date_created: float


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str


@dataclass
class Build:
    sid: str
    service_sid: str
    status: str
    runtime: str
    date_created: float
    date_updated: float
    seq: int
    function_versions: list[VersionRef] = field(default_factory=list)
    asset_versions: list[VersionRef] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    # When a `building` build turns `completed`; None = stays as it is.
    complete_at: float | None = None


@dataclass
class Deployment:
    sid: str
    service_sid: str
    environment_sid: str
    build_sid: str | None
    date_created: float
    date_updated: float
    seq: int


@dataclass
class Log:
    sid: str
    service_sid: str
    environment_sid: str
    build_sid: str | None
    deployment_sid: str | None
    function_sid: str | None
    request_sid: str
    level: str
    message: str
    date_created: float
    seq: int


@dataclass
class Variable:
    sid: str
    service_sid: str
    environment_sid: str
    key: str
    value: str
    date_created: float
    date_updated: float
    seq: int


# Everything that lives under a Service, and then every record.
Child = (
    Environment
    | Function
    | FunctionVersion
    | Asset
    | AssetVersion
    | Build
    | Deployment
    | Log
    | Variable
)
Record = Service | Child
# Bound to dataclasses, not to `Record`: mypy types a call of `type[R]` with a
# union bound as the whole union, not as R.
D = TypeVar("D", bound="DataclassInstance")


def to_dict(record: Record) -> dict[str, Any]:
    return asdict(record)


def from_dict(kind: type[D], data: dict[str, Any]) -> D:
    values = {f.name: data[f.name] for f in fields(kind) if f.name in data}
    if kind is Build:
        values["function_versions"] = [VersionRef(**v) for v in data["function_versions"]]
        values["asset_versions"] = [VersionRef(**v) for v in data["asset_versions"]]
        values["dependencies"] = [Dependency(**d) for d in data["dependencies"]]
    return kind(**values)


def sort_key(record: Record) -> tuple[float, int]:
    return (record.date_created, record.seq)
