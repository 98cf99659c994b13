"""The state every resource module shares: tables, lock, sequence, lookups, saving.

Reads hand out copies, so callers (tests included) can never change state
without going through a Store method. Every write persists to `state_path`
when one is set.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from .. import persistence, sids
from ..errors import InvalidParameter, NotFound
from ..records import (
    Asset,
    AssetVersion,
    Build,
    Child,
    Deployment,
    Environment,
    Function,
    FunctionVersion,
    Log,
    Record,
    Service,
    Variable,
    from_dict,
    sort_key,
    to_dict,
)

R = TypeVar("R", bound=Record)
C = TypeVar("C", bound=Child)


@dataclass
class Tables:
    services: dict[str, Service] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    function_versions: dict[str, FunctionVersion] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    asset_versions: dict[str, AssetVersion] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    logs: dict[str, Log] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)


# The record type of each table, for loading a snapshot.
KINDS: dict[str, type[Any]] = {
    "services": Service,
    "environments": Environment,
    "functions": Function,
    "function_versions": FunctionVersion,
    "assets": Asset,
    "asset_versions": AssetVersion,
    "builds": Build,
    "deployments": Deployment,
    "logs": Log,
    "variables": Variable,
}


def copy_record(record: R) -> R:
    clone = copy.copy(record)
    if isinstance(clone, Build):
        clone.function_versions = list(clone.function_versions)
        clone.asset_versions = list(clone.asset_versions)
        clone.dependencies = list(clone.dependencies)
    return clone


def ordered(records: Iterable[R], *, newest_first: bool) -> list[R]:
    return [copy_record(r) for r in sorted(records, key=sort_key, reverse=newest_first)]


def check_length(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidParameter(f"{name} must be {limit} characters or less")


class StoreCore:
    """State, lock, persistence and the lookups that scope every resource."""

    def __init__(
        self,
        *,
        account_sid: str,
        build_seconds: float = 10.0,
        state_path: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_sid = account_sid
        self.build_seconds = build_seconds
        self.state_path = Path(state_path) if state_path is not None else None
        self.clock = clock
        self.lock = threading.RLock()
        self._t = Tables()
        self._seq = 0
        self._batch_depth = 0

    # ----------------------------------------------------------- lifecycle

    def _clear(self) -> None:
        self._t = Tables()
        self._seq = 0

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seq": self._seq,
                "tables": {
                    f.name: [to_dict(r) for r in getattr(self._t, f.name).values()]
                    for f in fields(Tables)
                },
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            tables = Tables()
            for name, kind in KINDS.items():
                table = getattr(tables, name)
                for item in data["tables"].get(name, []):
                    record = from_dict(kind, item)
                    table[record.sid] = record
            self._t = tables
            self._seq = int(data["seq"])

    def save(self) -> None:
        if self.state_path is None:
            return
        with self.lock:
            if self._batch_depth == 0:
                persistence.write_atomically(self.state_path, self.snapshot())

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many writes into one save (seeding writes hundreds)."""
        with self.lock:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            self.save()

    def counts(self) -> dict[str, int]:
        """How many records of each kind: handy in tests and logs."""
        with self.lock:
            return {f.name: len(getattr(self._t, f.name)) for f in fields(Tables)}

    # ------------------------------------------------------------- helpers

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _now(self, at: float | None) -> float:
        return self.clock() if at is None else at

    def _insert(self, table: dict[str, R], record: R) -> R:
        """Add a new record, save, and hand back a copy."""
        table[record.sid] = record
        self.save()
        return copy_record(record)

    def _service(self, key: str) -> Service:
        """A Service by SID or unique_name, as the `{ServiceSid}` path segment allows."""
        if sids.is_sid(key, sids.SERVICE):
            found = self._t.services.get(key)
        else:
            found = next((s for s in self._t.services.values() if s.unique_name == key), None)
        if found is None:
            raise NotFound(f"Service {key} not found")
        return found

    def _environment(self, sid: str, service: str | None) -> Environment:
        env = self._t.environments.get(sid)
        if env is None or (service is not None and env.service_sid != self._service(service).sid):
            raise NotFound(f"Environment {sid} not found")
        return env

    def _owned(self, table: dict[str, C], sid: str, service: str | None, label: str) -> C:
        found = table.get(sid)
        if found is None or (
            service is not None and found.service_sid != self._service(service).sid
        ):
            raise NotFound(f"{label} {sid} not found")
        return found
