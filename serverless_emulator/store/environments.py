"""Environments of a Service; deleting one deletes its deployments, logs and variables."""

from __future__ import annotations

from .. import sids
from ..errors import Conflict, NotFound
from ..records import Environment
from .core import StoreCore, check_length, copy_record, ordered


class Environments(StoreCore):
    def environments(self, service: str) -> list[Environment]:
        with self.lock:
            owner = self._service(service).sid
            return ordered(
                (e for e in self._t.environments.values() if e.service_sid == owner),
                newest_first=False,
            )

    def environment(self, sid: str, *, service: str | None = None) -> Environment:
        with self.lock:
            return copy_record(self._environment(sid, service))

    def environment_named(self, service: str, unique_name: str) -> Environment:
        """Convenience for tests: `store.environment_named("ivr-flows", "dev")`."""
        with self.lock:
            owner = self._service(service).sid
            for env in self._t.environments.values():
                if env.service_sid == owner and env.unique_name == unique_name:
                    return copy_record(env)
            raise NotFound(f"Environment {unique_name} not found in Service {service}")

    def create_environment(
        self,
        service: str,
        *,
        unique_name: str,
        domain_suffix: str | None = None,
        sid: str | None = None,
        date_created: float | None = None,
    ) -> Environment:
        check_length("UniqueName", unique_name, 100)
        if domain_suffix is not None:
            check_length("DomainSuffix", domain_suffix, 16)
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
            return self._insert(self._t.environments, env)

    def delete_environment(self, sid: str, *, service: str | None = None) -> None:
        with self.lock:
            env = self._environment(sid, service)
            for table in (self._t.deployments, self._t.logs, self._t.variables):
                for child in [r.sid for r in table.values() if r.environment_sid == env.sid]:
                    del table[child]
            del self._t.environments[env.sid]
            self.save()
