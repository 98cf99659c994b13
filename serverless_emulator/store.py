"""All emulator state behind one lock, with Twilio's rules for changing it.

Reads hand out copies, so callers (tests included) can never change state
without going through a method here. Every write persists to `state_path`
when one is set.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from . import persistence, sids
from .errors import Conflict, InvalidParameter, NotFound
from .records import (
    Asset,
    AssetVersion,
    Build,
    Dependency,
    Deployment,
    Environment,
    Function,
    FunctionVersion,
    Log,
    Record,
    Service,
    Variable,
    VersionRef,
    from_dict,
    sort_key,
    to_dict,
)

# Enums from the spec (build_enum_runtime, build_enum_status, *_enum_visibility).
RUNTIMES = ("node8", "node10", "node12", "node14", "node16", "node18", "node20", "node22")
DEFAULT_RUNTIME = "node22"  # what the spec's CreateBuild example answers without Runtime
BUILD_STATUSES = ("building", "completed", "failed")
VISIBILITIES = ("public", "private", "protected")

R = TypeVar("R", bound=Record)
# Everything that lives under a Service (all but Service itself).
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
C = TypeVar("C", bound=Child)


@dataclass
class _Tables:
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


_KINDS: dict[str, type[Any]] = {
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


def _copy(record: R) -> R:
    clone = copy.copy(record)
    if isinstance(clone, Build):
        clone.function_versions = list(clone.function_versions)
        clone.asset_versions = list(clone.asset_versions)
        clone.dependencies = list(clone.dependencies)
    return clone


def _ordered(records: Iterable[R], *, newest_first: bool) -> list[R]:
    return [_copy(r) for r in sorted(records, key=sort_key, reverse=newest_first)]


def _check_length(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidParameter(f"{name} must be {limit} characters or less")


class Store:
    """State of one emulated Twilio account.

    List order: Deployments, Builds, Logs and Versions newest first (what the
    Console and the dashboard show); Services, Environments, Functions, Assets
    and Variables in creation order. The spec does not say; Twilio is not
    consistent across products either.
    """

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
        self._t = _Tables()
        self._seq = 0
        self._batch_depth = 0

    # ----------------------------------------------------------- lifecycle

    def reset(self, seed: str | None = "demo", *, rng_seed: int | None = None) -> None:
        """Drop everything and load a named seed ("demo", "empty" or None)."""
        from .seed import apply_seed, new_rng  # seed builds on this module

        with self.lock, self.batch():
            self._t = _Tables()
            self._seq = 0
            apply_seed(self, seed, rng=new_rng(rng_seed), now=self.clock())

    def open(self, seed: str | None = "demo", *, rng_seed: int | None = None) -> bool:
        """Load `state_path` if it exists, else seed and write it.

        Returns True when existing state was loaded. Idempotent by design: a
        restart must never reseed over what earlier runs changed.
        """
        if self.state_path is not None and self.state_path.exists():
            self.restore(persistence.read(self.state_path))
            return True
        self.reset(seed, rng_seed=rng_seed)
        return False

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seq": self._seq,
                "tables": {
                    f.name: [to_dict(r) for r in getattr(self._t, f.name).values()]
                    for f in fields(_Tables)
                },
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            tables = _Tables()
            for name, kind in _KINDS.items():
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

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _now(self, at: float | None) -> float:
        return self.clock() if at is None else at

    # ------------------------------------------------------------ services

    def services(self) -> list[Service]:
        with self.lock:
            return _ordered(self._t.services.values(), newest_first=False)

    def service(self, key: str) -> Service:
        """A Service by SID or unique_name, as the `{ServiceSid}` path segment allows."""
        with self.lock:
            return _copy(self._service(key))

    def _service(self, key: str) -> Service:
        if sids.is_sid(key, sids.SERVICE):
            found = self._t.services.get(key)
        else:
            found = next((s for s in self._t.services.values() if s.unique_name == key), None)
        if found is None:
            raise NotFound(f"Service {key} not found")
        return found

    def create_service(
        self,
        *,
        unique_name: str,
        friendly_name: str,
        include_credentials: bool = True,
        ui_editable: bool = False,
        domain_base: str | None = None,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Service:
        _check_length("UniqueName", unique_name, 50)
        _check_length("FriendlyName", friendly_name, 255)
        if not unique_name or not all(c.isalnum() or c in "-_" for c in unique_name):
            raise InvalidParameter("UniqueName may only contain letters, digits, '-' and '_'")
        with self.lock:
            if any(s.unique_name == unique_name for s in self._t.services.values()):
                raise Conflict(f"Service with UniqueName '{unique_name}' already exists")
            now = self._now(date_created)
            service = Service(
                sid=sid or sids.random_sid(sids.SERVICE),
                unique_name=unique_name,
                friendly_name=friendly_name,
                include_credentials=include_credentials,
                ui_editable=ui_editable,
                domain_base=domain_base or f"{unique_name}-{random.randint(1000, 9999)}",
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.services[service.sid] = service
            self.save()
            return _copy(service)

    def update_service(
        self,
        key: str,
        *,
        friendly_name: str | None = None,
        include_credentials: bool | None = None,
        ui_editable: bool | None = None,
    ) -> Service:
        with self.lock:
            service = self._service(key)
            if friendly_name is not None:
                _check_length("FriendlyName", friendly_name, 255)
                service.friendly_name = friendly_name
            if include_credentials is not None:
                service.include_credentials = include_credentials
            if ui_editable is not None:
                service.ui_editable = ui_editable
            service.date_updated = self.clock()
            self.save()
            return _copy(service)

    def delete_service(self, key: str) -> None:
        with self.lock:
            service = self._service(key)
            for name in _KINDS:
                if name == "services":
                    continue
                table = getattr(self._t, name)
                for sid in [r.sid for r in table.values() if r.service_sid == service.sid]:
                    del table[sid]
            del self._t.services[service.sid]
            self.save()

    # -------------------------------------------------------- environments

    def environments(self, service: str) -> list[Environment]:
        with self.lock:
            owner = self._service(service).sid
            return _ordered(
                (e for e in self._t.environments.values() if e.service_sid == owner),
                newest_first=False,
            )

    def environment(self, sid: str, *, service: str | None = None) -> Environment:
        with self.lock:
            return _copy(self._environment(sid, service))

    def environment_named(self, service: str, unique_name: str) -> Environment:
        """Convenience for tests: `store.environment_named("ivr-flows", "dev")`."""
        with self.lock:
            owner = self._service(service).sid
            for env in self._t.environments.values():
                if env.service_sid == owner and env.unique_name == unique_name:
                    return _copy(env)
            raise NotFound(f"Environment {unique_name} not found in Service {service}")

    def _environment(self, sid: str, service: str | None) -> Environment:
        env = self._t.environments.get(sid)
        if env is None or (service is not None and env.service_sid != self._service(service).sid):
            raise NotFound(f"Environment {sid} not found")
        return env

    def create_environment(
        self,
        service: str,
        *,
        unique_name: str,
        domain_suffix: str | None = None,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Environment:
        _check_length("UniqueName", unique_name, 100)
        if domain_suffix is not None:
            _check_length("DomainSuffix", domain_suffix, 16)
        domain_suffix = domain_suffix or None  # "" and absent both mean "no suffix"
        with self.lock:
            owner = self._service(service)
            siblings = [e for e in self._t.environments.values() if e.service_sid == owner.sid]
            if any(e.unique_name == unique_name for e in siblings):
                raise Conflict(f"Environment with UniqueName '{unique_name}' already exists")
            suffix = f"-{domain_suffix}" if domain_suffix else ""
            domain_name = f"{owner.domain_base}{suffix}.twil.io"
            if any(e.domain_name == domain_name for e in siblings):
                raise Conflict(f"Domain name {domain_name} is already in use by this Service")
            now = self._now(date_created)
            env = Environment(
                sid=sid or sids.random_sid(sids.ENVIRONMENT),
                service_sid=owner.sid,
                unique_name=unique_name,
                domain_suffix=domain_suffix,
                domain_name=domain_name,
                build_sid=None,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.environments[env.sid] = env
            self.save()
            return _copy(env)

    def delete_environment(self, sid: str, *, service: str | None = None) -> None:
        with self.lock:
            env = self._environment(sid, service)
            for table in (self._t.deployments, self._t.logs, self._t.variables):
                for child in [r.sid for r in table.values() if r.environment_sid == env.sid]:
                    del table[child]
            del self._t.environments[env.sid]
            self.save()

    # ---------------------------------------------- functions and versions

    def functions(self, service: str) -> list[Function]:
        with self.lock:
            owner = self._service(service).sid
            return _ordered(
                (f for f in self._t.functions.values() if f.service_sid == owner),
                newest_first=False,
            )

    def function(self, sid: str, *, service: str | None = None) -> Function:
        with self.lock:
            return _copy(self._owned(self._t.functions, sid, service, "Function"))

    def create_function(
        self,
        service: str,
        *,
        friendly_name: str,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Function:
        _check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            owner = self._service(service)
            now = self._now(date_created)
            function = Function(
                sid=sid or sids.random_sid(sids.FUNCTION),
                service_sid=owner.sid,
                friendly_name=friendly_name,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.functions[function.sid] = function
            self.save()
            return _copy(function)

    def update_function(
        self, sid: str, *, friendly_name: str, service: str | None = None
    ) -> Function:
        _check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            function = self._owned(self._t.functions, sid, service, "Function")
            function.friendly_name = friendly_name
            function.date_updated = self.clock()
            self.save()
            return _copy(function)

    def delete_function(self, sid: str, *, service: str | None = None) -> None:
        with self.lock:
            function = self._owned(self._t.functions, sid, service, "Function")
            versions = self._t.function_versions
            for child in [v.sid for v in versions.values() if v.function_sid == function.sid]:
                del versions[child]
            del self._t.functions[function.sid]
            self.save()

    def function_versions(
        self, function_sid: str, *, service: str | None = None
    ) -> list[FunctionVersion]:
        with self.lock:
            function = self._owned(self._t.functions, function_sid, service, "Function")
            return _ordered(
                (v for v in self._t.function_versions.values() if v.function_sid == function.sid),
                newest_first=True,
            )

    def function_version(
        self, sid: str, *, function_sid: str | None = None, service: str | None = None
    ) -> FunctionVersion:
        with self.lock:
            version = self._owned(self._t.function_versions, sid, service, "Function Version")
            if function_sid is not None and version.function_sid != function_sid:
                raise NotFound(f"Function Version {sid} not found")
            return _copy(version)

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
        """Stand-in for Twilio's upload endpoint, which this spec does not cover."""
        _check_visibility(visibility)
        with self.lock:
            function = self._owned(self._t.functions, function_sid, None, "Function")
            version = FunctionVersion(
                sid=sid or sids.random_sid(sids.FUNCTION_VERSION),
                service_sid=function.service_sid,
                function_sid=function.sid,
                path=_leading_slash(path),
                visibility=visibility,
                content=content,
                date_created=self._now(date_created),
                seq=self._next_seq(),
            )
            self._t.function_versions[version.sid] = version
            self.save()
            return _copy(version)

    # ------------------------------------------------- assets and versions

    def assets(self, service: str) -> list[Asset]:
        with self.lock:
            owner = self._service(service).sid
            return _ordered(
                (a for a in self._t.assets.values() if a.service_sid == owner),
                newest_first=False,
            )

    def asset(self, sid: str, *, service: str | None = None) -> Asset:
        with self.lock:
            return _copy(self._owned(self._t.assets, sid, service, "Asset"))

    def create_asset(
        self,
        service: str,
        *,
        friendly_name: str,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Asset:
        _check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            owner = self._service(service)
            now = self._now(date_created)
            asset = Asset(
                sid=sid or sids.random_sid(sids.ASSET),
                service_sid=owner.sid,
                friendly_name=friendly_name,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.assets[asset.sid] = asset
            self.save()
            return _copy(asset)

    def update_asset(self, sid: str, *, friendly_name: str, service: str | None = None) -> Asset:
        _check_length("FriendlyName", friendly_name, 255)
        with self.lock:
            asset = self._owned(self._t.assets, sid, service, "Asset")
            asset.friendly_name = friendly_name
            asset.date_updated = self.clock()
            self.save()
            return _copy(asset)

    def delete_asset(self, sid: str, *, service: str | None = None) -> None:
        with self.lock:
            asset = self._owned(self._t.assets, sid, service, "Asset")
            versions = self._t.asset_versions
            for child in [v.sid for v in versions.values() if v.asset_sid == asset.sid]:
                del versions[child]
            del self._t.assets[asset.sid]
            self.save()

    def asset_versions(self, asset_sid: str, *, service: str | None = None) -> list[AssetVersion]:
        with self.lock:
            asset = self._owned(self._t.assets, asset_sid, service, "Asset")
            return _ordered(
                (v for v in self._t.asset_versions.values() if v.asset_sid == asset.sid),
                newest_first=True,
            )

    def asset_version(
        self, sid: str, *, asset_sid: str | None = None, service: str | None = None
    ) -> AssetVersion:
        with self.lock:
            version = self._owned(self._t.asset_versions, sid, service, "Asset Version")
            if asset_sid is not None and version.asset_sid != asset_sid:
                raise NotFound(f"Asset Version {sid} not found")
            return _copy(version)

    def create_asset_version(
        self,
        asset_sid: str,
        *,
        path: str,
        visibility: str = "public",
        sid: str | None = None,
        date_created: float | None = None,
    ) -> AssetVersion:
        """Stand-in for Twilio's upload endpoint, which this spec does not cover."""
        _check_visibility(visibility)
        with self.lock:
            asset = self._owned(self._t.assets, asset_sid, None, "Asset")
            version = AssetVersion(
                sid=sid or sids.random_sid(sids.ASSET_VERSION),
                service_sid=asset.service_sid,
                asset_sid=asset.sid,
                path=_leading_slash(path),
                visibility=visibility,
                date_created=self._now(date_created),
                seq=self._next_seq(),
            )
            self._t.asset_versions[version.sid] = version
            self.save()
            return _copy(version)

    # -------------------------------------------------------------- builds

    def builds(self, service: str) -> list[Build]:
        with self.lock:
            owner = self._service(service).sid
            mine = [b for b in self._t.builds.values() if b.service_sid == owner]
            for build in mine:
                self._settle(build)
            return _ordered(mine, newest_first=True)

    def build(self, sid: str, *, service: str | None = None) -> Build:
        with self.lock:
            build = self._owned(self._t.builds, sid, service, "Build")
            self._settle(build)
            return _copy(build)

    def _settle(self, build: Build) -> None:
        # Status is computed lazily: a building build whose time has come is
        # completed from the moment it was due, whoever looks first.
        due = build.complete_at
        if build.status == "building" and due is not None and self.clock() >= due:
            build.status = "completed"
            build.date_updated = due
            build.complete_at = None

    def create_build(
        self,
        service: str,
        *,
        function_versions: Sequence[str] = (),
        asset_versions: Sequence[str] = (),
        dependencies: Sequence[Dependency | dict[str, str]] = (),
        runtime: str | None = None,
        status: str | None = None,
        build_seconds: float | None = None,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Build:
        """Create a Build.

        status=None is the API path: `building`, then `completed` after
        `build_seconds` (the store default unless given; 0 = at once). An
        explicit status is kept as is and never changes by itself, which is
        what the seed wants for its `building` builds.
        """
        runtime = runtime or DEFAULT_RUNTIME
        if runtime not in RUNTIMES:
            raise InvalidParameter(f"Runtime must be one of {', '.join(RUNTIMES)}")
        if status is not None and status not in BUILD_STATUSES:
            raise ValueError(f"unknown build status {status!r}")
        deps = [d if isinstance(d, Dependency) else _dependency(d) for d in dependencies]
        with self.lock:
            owner = self._service(service)
            now = self._now(date_created)
            fv_refs = [self._function_version_ref(owner.sid, v) for v in function_versions]
            av_refs = [self._asset_version_ref(owner.sid, v) for v in asset_versions]
            complete_at: float | None = None
            if status is None:
                delay = self.build_seconds if build_seconds is None else build_seconds
                status, complete_at = "building", now + delay
            build = Build(
                sid=sid or sids.random_sid(sids.BUILD),
                service_sid=owner.sid,
                status=status,
                runtime=runtime,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
                function_versions=fv_refs,
                asset_versions=av_refs,
                dependencies=deps,
                complete_at=complete_at,
            )
            self._settle(build)
            self._t.builds[build.sid] = build
            self.save()
            return _copy(build)

    def _function_version_ref(self, service_sid: str, sid: str) -> VersionRef:
        version = self._t.function_versions.get(sid)
        if version is None or version.service_sid != service_sid:
            raise InvalidParameter(
                f"Function Version {sid} does not exist in Service {service_sid}"
            )
        return VersionRef(
            sid=version.sid,
            parent_sid=version.function_sid,
            path=version.path,
            visibility=version.visibility,
            date_created=version.date_created,
        )

    def _asset_version_ref(self, service_sid: str, sid: str) -> VersionRef:
        version = self._t.asset_versions.get(sid)
        if version is None or version.service_sid != service_sid:
            raise InvalidParameter(f"Asset Version {sid} does not exist in Service {service_sid}")
        return VersionRef(
            sid=version.sid,
            parent_sid=version.asset_sid,
            path=version.path,
            visibility=version.visibility,
            date_created=version.date_created,
        )

    def set_build_status(self, sid: str, status: str) -> Build:
        """Test handle: force a status; it then stays put (no auto-completion)."""
        if status not in BUILD_STATUSES:
            raise ValueError(f"unknown build status {status!r}")
        with self.lock:
            build = self._owned(self._t.builds, sid, None, "Build")
            build.status = status
            build.complete_at = None
            build.date_updated = self.clock()
            self.save()
            return _copy(build)

    def fail_build(self, sid: str) -> Build:
        return self.set_build_status(sid, "failed")

    def delete_build(self, sid: str, *, service: str | None = None) -> None:
        with self.lock:
            build = self._owned(self._t.builds, sid, service, "Build")
            # Emulator choice (the spec is silent): a live build cannot be
            # deleted, since its environments would point at nothing.
            if any(e.build_sid == build.sid for e in self._t.environments.values()):
                raise Conflict(f"Build {sid} is deployed to an Environment and cannot be deleted")
            del self._t.builds[build.sid]
            self.save()

    # --------------------------------------------------------- deployments

    def deployments(self, environment_sid: str, *, service: str | None = None) -> list[Deployment]:
        """Newest first, like the API."""
        with self.lock:
            env = self._environment(environment_sid, service)
            return _ordered(
                (d for d in self._t.deployments.values() if d.environment_sid == env.sid),
                newest_first=True,
            )

    def deployment(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> Deployment:
        with self.lock:
            found = self._owned(self._t.deployments, sid, service, "Deployment")
            if environment_sid is not None and found.environment_sid != environment_sid:
                raise NotFound(f"Deployment {sid} not found")
            return _copy(found)

    def deploy(
        self,
        environment_sid: str,
        build_sid: str | None,
        *,
        service: str | None = None,
        date_created: float | None = None,
    ) -> Deployment:
        """Make `build_sid` live in the environment, or clear it when None.

        The rules are the API's: the build must belong to the environment's
        service and be `completed` (else 400/20001), and must not already be
        live there (409/20409).

        Clearing deletes the environment's earlier deployments, sets its
        `build_sid` to null and keeps only the new deployment (build_sid
        null): the answer's SID stays fetchable, and the history shows when
        the environment was cleared.
        """
        with self.lock:
            env = self._environment(environment_sid, service)
            if build_sid is not None:
                self._check_deployable(env, build_sid)
            else:
                earlier = [
                    d.sid for d in self._t.deployments.values() if d.environment_sid == env.sid
                ]
                for sid in earlier:
                    del self._t.deployments[sid]
            now = self._now(date_created)
            deployment = Deployment(
                sid=sids.random_sid(sids.DEPLOYMENT),
                service_sid=env.service_sid,
                environment_sid=env.sid,
                build_sid=build_sid,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.deployments[deployment.sid] = deployment
            env.build_sid = build_sid
            env.date_updated = now
            self.save()
            return _copy(deployment)

    def clear_environment(self, environment_sid: str) -> Deployment:
        return self.deploy(environment_sid, None)

    def _check_deployable(self, env: Environment, build_sid: str) -> None:
        build = self._t.builds.get(build_sid)
        if build is None or build.service_sid != env.service_sid:
            raise InvalidParameter(
                f"Build {build_sid} does not belong to Service {env.service_sid}"
            )
        self._settle(build)
        if build.status != "completed":
            raise InvalidParameter(
                f"Build {build_sid} cannot be deployed: its status is '{build.status}', "
                "only 'completed' builds can be deployed"
            )
        if env.build_sid == build_sid:
            raise Conflict("Environment already has requested deployment")

    def live_build(self, environment_sid: str) -> Build | None:
        with self.lock:
            env = self._environment(environment_sid, None)
            return None if env.build_sid is None else self.build(env.build_sid)

    def add_deployment_record(
        self,
        environment_sid: str,
        build_sid: str | None,
        *,
        date_created: float,
        sid: str | None = None,
    ) -> Deployment:
        """Append seed history, oldest first, without the API's rules.

        The new record becomes the environment's live deployment; the caller
        keeps the history consistent (no build twice in a row, dates rising).
        """
        with self.lock:
            env = self._environment(environment_sid, None)
            deployment = Deployment(
                sid=sid or sids.random_sid(sids.DEPLOYMENT),
                service_sid=env.service_sid,
                environment_sid=env.sid,
                build_sid=build_sid,
                date_created=date_created,
                date_updated=date_created,
                seq=self._next_seq(),
            )
            self._t.deployments[deployment.sid] = deployment
            env.build_sid = build_sid
            env.date_updated = max(env.date_updated, date_created)
            self.save()
            return _copy(deployment)

    # ---------------------------------------------------------------- logs

    def logs(
        self,
        environment_sid: str,
        *,
        service: str | None = None,
        function_sid: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Log]:
        """Newest first; `start`/`end` inclusive; None = unbounded."""
        with self.lock:
            env = self._environment(environment_sid, service)
            return _ordered(
                (
                    log
                    for log in self._t.logs.values()
                    if log.environment_sid == env.sid
                    and (function_sid is None or log.function_sid == function_sid)
                    and (start is None or log.date_created >= start)
                    and (end is None or log.date_created <= end)
                ),
                newest_first=True,
            )

    def log(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> Log:
        with self.lock:
            found = self._owned(self._t.logs, sid, service, "Log")
            if environment_sid is not None and found.environment_sid != environment_sid:
                raise NotFound(f"Log {sid} not found")
            return _copy(found)

    def add_log(
        self,
        environment_sid: str,
        *,
        level: str,
        message: str,
        function_sid: str | None = None,
        date_created: float | None = None,
        deployment_sid: str | None = None,
        sid: str | None = None,
        request_sid: str | None = None,
    ) -> Log:
        """Record a log line as a deployment produced it.

        `deployment_sid` defaults to the environment's newest deployment; the
        log's `build_sid` is that deployment's build.
        """
        with self.lock:
            env = self._environment(environment_sid, None)
            if deployment_sid is not None:
                source: Deployment | None = self._t.deployments[deployment_sid]
            else:
                mine = [d for d in self._t.deployments.values() if d.environment_sid == env.sid]
                source = max(mine, key=sort_key) if mine else None
            log = Log(
                sid=sid or sids.random_sid(sids.LOG),
                service_sid=env.service_sid,
                environment_sid=env.sid,
                build_sid=source.build_sid if source else None,
                deployment_sid=source.sid if source else None,
                function_sid=function_sid,
                request_sid=request_sid or sids.random_sid(sids.REQUEST),
                level=level,
                message=message,
                date_created=self._now(date_created),
                seq=self._next_seq(),
            )
            self._t.logs[log.sid] = log
            self.save()
            return _copy(log)

    # ----------------------------------------------------------- variables

    def variables(self, environment_sid: str, *, service: str | None = None) -> list[Variable]:
        with self.lock:
            env = self._environment(environment_sid, service)
            return _ordered(
                (v for v in self._t.variables.values() if v.environment_sid == env.sid),
                newest_first=False,
            )

    def variable(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> Variable:
        with self.lock:
            return _copy(self._variable(sid, environment_sid, service))

    def _variable(self, sid: str, environment_sid: str | None, service: str | None) -> Variable:
        found = self._owned(self._t.variables, sid, service, "Variable")
        if environment_sid is not None and found.environment_sid != environment_sid:
            raise NotFound(f"Variable {sid} not found")
        return found

    def create_variable(
        self,
        environment_sid: str,
        *,
        key: str,
        value: str,
        service: str | None = None,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Variable:
        _check_variable(key, value)
        with self.lock:
            env = self._environment(environment_sid, service)
            self._check_key_free(env.sid, key, None)
            now = self._now(date_created)
            variable = Variable(
                sid=sid or sids.random_sid(sids.VARIABLE),
                service_sid=env.service_sid,
                environment_sid=env.sid,
                key=key,
                value=value,
                date_created=now,
                date_updated=now,
                seq=self._next_seq(),
            )
            self._t.variables[variable.sid] = variable
            self.save()
            return _copy(variable)

    def update_variable(
        self,
        sid: str,
        *,
        key: str | None = None,
        value: str | None = None,
        environment_sid: str | None = None,
        service: str | None = None,
    ) -> Variable:
        with self.lock:
            variable = self._variable(sid, environment_sid, service)
            _check_variable(key or variable.key, value if value is not None else variable.value)
            if key is not None:
                self._check_key_free(variable.environment_sid, key, variable.sid)
                variable.key = key
            if value is not None:
                variable.value = value
            variable.date_updated = self.clock()
            self.save()
            return _copy(variable)

    def delete_variable(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> None:
        with self.lock:
            variable = self._variable(sid, environment_sid, service)
            del self._t.variables[variable.sid]
            self.save()

    def _check_key_free(self, environment_sid: str, key: str, own_sid: str | None) -> None:
        for other in self._t.variables.values():
            if (
                other.environment_sid == environment_sid
                and other.key == key
                and other.sid != own_sid
            ):
                raise Conflict(f"Variable with Key '{key}' already exists")

    # ------------------------------------------------------------- helpers

    def _owned(self, table: dict[str, C], sid: str, service: str | None, label: str) -> C:
        found = table.get(sid)
        if found is None or (
            service is not None and found.service_sid != self._service(service).sid
        ):
            raise NotFound(f"{label} {sid} not found")
        return found

    def counts(self) -> dict[str, int]:
        """How many records of each kind: handy in tests and logs."""
        with self.lock:
            return {f.name: len(getattr(self._t, f.name)) for f in fields(_Tables)}


def _leading_slash(path: str) -> str:
    # The spec: "a path not containing a leading slash ... will be prepended with one".
    return path if path.startswith("/") else "/" + path


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise InvalidParameter(f"Visibility must be one of {', '.join(VISIBILITIES)}")


def _check_variable(key: str, value: str) -> None:
    _check_length("Key", key, 128)
    if len(value.encode("utf-8")) > 450:
        raise InvalidParameter("Value must be 450 bytes or less")


def _dependency(item: dict[str, str]) -> Dependency:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidParameter("Each dependency needs a string 'name' and 'version'")
    version = item.get("version")
    if not isinstance(version, str):
        raise InvalidParameter("Each dependency needs a string 'name' and 'version'")
    return Dependency(name=item["name"], version=version)
