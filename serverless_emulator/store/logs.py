"""Logs: what a deployment printed, filtered by Function and time.

Besides the logs written by the seed or `add_log`, a build may carry a *traffic
profile* (`set_build_traffic`): while it is deployed, its environment is invoked
every `every` seconds and a fraction `error_rate` of those invocations log an error.
The lines are made up lazily, when an environment's logs are read, for the time that
has passed since they were last made: "logs over time for a deployed build", dated
after the deployment, ending when the next deployment replaces it. Real Twilio does
the same for real invocations; the emulator has no invocations to run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .. import sids
from ..errors import InvalidParameter, NotFound
from ..records import Deployment, Environment, Log, sort_key
from .core import StoreCore, copy_record, ordered

LEVELS = ("info", "warn", "error")
# A read makes up at most this many invocations per deployment; the rest on later reads.
MAX_INVOCATIONS_PER_READ = 5000
MIN_EVERY_SECONDS = 0.1
_ERRORS = (
    "Error: Request failed with status code 500 in {path}",
    "TypeError: Cannot read properties of undefined (reading 'Body') in {path}",
    "Function {path} timed out after 10000ms",
)


@dataclass(frozen=True)
class TrafficProfile:
    """How a build behaves once deployed: one invocation every `every` s, some failing."""

    error_rate: float
    every: float
    # Nothing is made up before this moment (when the profile was set).
    since: float


@dataclass(frozen=True)
class _Made:
    """How far a deployment's traffic has been made up: until when, and how many."""

    until: float
    invocations: int


class Logs(StoreCore):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._profiles: dict[str, TrafficProfile] = {}
        self._made: dict[str, _Made] = {}

    # Profiles live beside the tables: cleared with them and saved with them.
    def _clear(self) -> None:
        super()._clear()
        self._profiles = {}
        self._made = {}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            data = super().snapshot()
            data["traffic"] = {
                "profiles": {sid: asdict(p) for sid, p in self._profiles.items()},
                "made": {sid: asdict(m) for sid, m in self._made.items()},
            }
            return data

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            super().restore(data)
            traffic = data.get("traffic") or {}
            self._profiles = {
                sid: TrafficProfile(**p) for sid, p in traffic.get("profiles", {}).items()
            }
            self._made = {sid: _Made(**m) for sid, m in traffic.get("made", {}).items()}

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
            self._make_traffic(env)
            return ordered(
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
            return copy_record(found)

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
            return self._insert(self._t.logs, log)

    # ------------------------------------------------------------- traffic

    def set_build_traffic(
        self, build_sid: str, *, error_rate: float, every: float = 60.0
    ) -> TrafficProfile:
        """From now on, wherever `build_sid` is deployed, its environment logs traffic."""
        if not 0.0 <= error_rate <= 1.0:
            raise InvalidParameter("error_rate must be between 0 and 1")
        if not math.isfinite(every) or every < MIN_EVERY_SECONDS:
            raise InvalidParameter(f"every must be at least {MIN_EVERY_SECONDS} seconds")
        with self.lock:
            if build_sid not in self._t.builds:
                raise NotFound(f"Build {build_sid} not found")
            # What the old profile made stays; the new one starts now.
            self._make_all_traffic()
            profile = TrafficProfile(error_rate=error_rate, every=every, since=self.clock())
            self._profiles[build_sid] = profile
            self._made = {
                sid: made
                for sid, made in self._made.items()
                if self._t.deployments.get(sid) is None
                or self._t.deployments[sid].build_sid != build_sid
            }
            self.save()
            return profile

    def clear_build_traffic(self, build_sid: str) -> None:
        with self.lock:
            self._make_all_traffic()
            self._profiles.pop(build_sid, None)
            self.save()

    def traffic_profiles(self) -> dict[str, TrafficProfile]:
        with self.lock:
            return dict(self._profiles)

    def _make_all_traffic(self) -> None:
        for env in list(self._t.environments.values()):
            self._make_traffic(env)

    def _make_traffic(self, env: Environment) -> None:
        """Make up the logs of env's profiled deployments, up to now (under the lock)."""
        if not self._profiles:
            return
        mine = sorted(
            (d for d in self._t.deployments.values() if d.environment_sid == env.sid),
            key=sort_key,
        )
        now = self.clock()
        wrote = False
        for index, deployment in enumerate(mine):
            profile = self._profiles.get(deployment.build_sid or "")
            if profile is None:
                continue
            # Live until the next deployment replaced it, or until now.
            end = mine[index + 1].date_created if index + 1 < len(mine) else now
            wrote |= self._invoke(env, deployment, profile, end)
        if wrote:
            self.save()

    def _invoke(
        self, env: Environment, deployment: Deployment, profile: TrafficProfile, end: float
    ) -> bool:
        made = self._made.get(deployment.sid) or _Made(
            until=max(deployment.date_created, profile.since), invocations=0
        )
        build = self._t.builds.get(deployment.build_sid or "")
        functions = list(build.function_versions) if build else []
        until, count, wrote = made.until, made.invocations, False
        for _ in range(MAX_INVOCATIONS_PER_READ):
            at = until + profile.every
            if at > end:
                break
            ref = functions[count % len(functions)] if functions else None
            path = ref.path if ref else "/"
            # Exactly `error_rate` of the invocations fail, spread evenly (no randomness,
            # so a test can count them).
            failed = math.floor((count + 1) * profile.error_rate) > math.floor(
                count * profile.error_rate
            )
            message = (
                _ERRORS[count % len(_ERRORS)].format(path=path)
                if failed
                else f"Execution ended for {path} in {20 + count % 180}ms"
            )
            sid = sids.random_sid(sids.LOG)
            self._t.logs[sid] = Log(
                sid=sid,
                service_sid=env.service_sid,
                environment_sid=env.sid,
                build_sid=deployment.build_sid,
                deployment_sid=deployment.sid,
                function_sid=ref.parent_sid if ref else None,
                request_sid=sids.random_sid(sids.REQUEST),
                level="error" if failed else "info",
                message=message,
                date_created=float(int(at)),
                seq=self._next_seq(),
            )
            until, count, wrote = at, count + 1, True
        self._made[deployment.sid] = _Made(until=until, invocations=count)
        return wrote
