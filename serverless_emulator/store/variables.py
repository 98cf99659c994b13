"""Variables of an Environment: keys unique per Environment, values of 450 bytes at most."""

from __future__ import annotations

from .. import sids
from ..errors import Conflict, InvalidParameter, NotFound
from ..records import Variable
from .core import StoreCore, check_length, copy_record, ordered


class Variables(StoreCore):
    def variables(self, environment_sid: str, *, service: str | None = None) -> list[Variable]:
        with self.lock:
            env = self._environment(environment_sid, service)
            return ordered(
                (v for v in self._t.variables.values() if v.environment_sid == env.sid),
                newest_first=False,
            )

    def variable(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> Variable:
        with self.lock:
            return copy_record(self._variable(sid, environment_sid, service))

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
            return self._insert(self._t.variables, variable)

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
            return copy_record(variable)

    def delete_variable(
        self, sid: str, *, environment_sid: str | None = None, service: str | None = None
    ) -> None:
        with self.lock:
            variable = self._variable(sid, environment_sid, service)
            del self._t.variables[variable.sid]
            self.save()

    def _variable(self, sid: str, environment_sid: str | None, service: str | None) -> Variable:
        found = self._owned(self._t.variables, sid, service, "Variable")
        if environment_sid is not None and found.environment_sid != environment_sid:
            raise NotFound(f"Variable {sid} not found")
        return found

    def _check_key_free(self, environment_sid: str, key: str, own_sid: str | None) -> None:
        for other in self._t.variables.values():
            if (
                other.environment_sid == environment_sid
                and other.key == key
                and other.sid != own_sid
            ):
                raise Conflict(f"Variable with Key '{key}' already exists")


def _check_variable(key: str, value: str) -> None:
    check_length("Key", key, 128)
    if len(value.encode("utf-8")) > 450:
        raise InvalidParameter("Value must be 450 bytes or less")
