"""Deployments: which Build is live in an Environment, and since when."""

from __future__ import annotations

from .. import sids
from ..errors import Conflict, InvalidParameter, NotFound
from ..records import Deployment, Environment
from .builds import settle
from .core import StoreCore, copy_record, ordered


class Deployments(StoreCore):
    def deployments(self, environment_sid: str, *, service: str | None = None) -> list[Deployment]:
        """Newest first, like the API."""
        with self.lock:
            env = self._environment(environment_sid, service)
            return ordered(self._by_environment().get(env.sid, ()), newest_first=True)

    def _by_environment(self) -> dict[str, list[Deployment]]:
        """Deployments grouped by environment, rebuilt only after the table changed.

        A list read would otherwise scan every deployment of the account: at a
        benchmark's size (thousands) that is milliseconds of CPU per call, which a
        real upstream does not add to its latency. Every change to the table adds a
        record (a new seq), deletes some (a new length) or replaces the tables.
        """
        table = self._t.deployments
        version = (id(table), len(table), self._seq)
        if getattr(self, "_index_version", None) != version:
            grouped: dict[str, list[Deployment]] = {}
            for deployment in table.values():
                grouped.setdefault(deployment.environment_sid, []).append(deployment)
            self._index: dict[str, list[Deployment]] = grouped
            self._index_version = version
        return self._index

    def deployment(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> Deployment:
        with self.lock:
            found = self._owned(self._t.deployments, sid, service, "Deployment")
            if environment_sid is not None and found.environment_sid != environment_sid:
                raise NotFound(f"Deployment {sid} not found")
            return copy_record(found)

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
                earlier = [d.sid for d in self._by_environment().get(env.sid, ())]
                for sid in earlier:
                    del self._t.deployments[sid]
            now = self._now(date_created)
            return self._append(
                env, build_sid, sid=sids.random_sid(sids.DEPLOYMENT), at=now, env_updated=now
            )

    def clear_environment(self, environment_sid: str) -> Deployment:
        return self.deploy(environment_sid, None)

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
            return self._append(
                env,
                build_sid,
                sid=sid or sids.random_sid(sids.DEPLOYMENT),
                at=date_created,
                env_updated=max(env.date_updated, date_created),
            )

    def _append(
        self,
        env: Environment,
        build_sid: str | None,
        *,
        sid: str,
        at: float,
        env_updated: float,
    ) -> Deployment:
        """Record a deployment of `build_sid` made at `at` and make it the live one."""
        deployment = Deployment(
            sid=sid,
            service_sid=env.service_sid,
            environment_sid=env.sid,
            build_sid=build_sid,
            date_created=at,
            date_updated=at,
            seq=self._next_seq(),
        )
        env.build_sid = build_sid
        env.date_updated = env_updated
        return self._insert(self._t.deployments, deployment)

    def _check_deployable(self, env: Environment, build_sid: str) -> None:
        build = self._t.builds.get(build_sid)
        if build is None or build.service_sid != env.service_sid:
            raise InvalidParameter(
                f"Build {build_sid} does not belong to Service {env.service_sid}"
            )
        settle(build, self.clock())
        if build.status != "completed":
            raise InvalidParameter(
                f"Build {build_sid} cannot be deployed: its status is '{build.status}', "
                "only 'completed' builds can be deployed"
            )
        if env.build_sid == build_sid:
            raise Conflict("Environment already has requested deployment")
