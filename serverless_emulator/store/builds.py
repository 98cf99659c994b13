"""Builds: frozen sets of Function and Asset Versions that finish building by themselves."""

from __future__ import annotations

from collections.abc import Sequence

from .. import sids
from ..errors import Conflict, InvalidParameter
from ..records import Build, Dependency
from .core import StoreCore, copy_record, ordered
from .functions_assets import ASSETS, FUNCTIONS

# Enums from the spec (build_enum_runtime, build_enum_status).
RUNTIMES = ("node8", "node10", "node12", "node14", "node16", "node18", "node20", "node22")
DEFAULT_RUNTIME = "node22"  # what the spec's CreateBuild example answers without Runtime
BUILD_STATUSES = ("building", "completed", "failed")


def settle(build: Build, now: float) -> None:
    # Status is computed lazily: a building build whose time has come is
    # completed from the moment it was due, whoever looks first.
    due = build.complete_at
    if build.status == "building" and due is not None and now >= due:
        build.status = "completed"
        build.date_updated = due
        build.complete_at = None


class Builds(StoreCore):
    def builds(self, service: str) -> list[Build]:
        with self.lock:
            owner = self._service(service).sid
            mine = [b for b in self._t.builds.values() if b.service_sid == owner]
            for build in mine:
                settle(build, self.clock())
            return ordered(mine, newest_first=True)

    def build(self, sid: str, *, service: str | None = None) -> Build:
        with self.lock:
            build = self._owned(self._t.builds, sid, service, "Build")
            settle(build, self.clock())
            return copy_record(build)

    def live_build(self, environment_sid: str) -> Build | None:
        with self.lock:
            env = self._environment(environment_sid, None)
            return None if env.build_sid is None else self.build(env.build_sid)

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
            fv_refs = [FUNCTIONS.version_ref(self._t, owner.sid, v) for v in function_versions]
            av_refs = [ASSETS.version_ref(self._t, owner.sid, v) for v in asset_versions]
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
            settle(build, self.clock())
            return self._insert(self._t.builds, build)

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
            return copy_record(build)

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


def _dependency(item: dict[str, str]) -> Dependency:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidParameter("Each dependency needs a string 'name' and 'version'")
    version = item.get("version")
    if not isinstance(version, str):
        raise InvalidParameter("Each dependency needs a string 'name' and 'version'")
    return Dependency(name=item["name"], version=version)
