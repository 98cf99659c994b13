"""Logs: what a deployment printed, filtered by Function and time."""

from __future__ import annotations

from .. import sids
from ..errors import NotFound
from ..records import Deployment, Log, sort_key
from .core import StoreCore, copy_record, ordered


class Logs(StoreCore):
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
