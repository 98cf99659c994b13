"""Services: the top of the tree; deleting one deletes everything under it."""

from __future__ import annotations

import random

from .. import sids
from ..errors import Conflict, InvalidParameter
from ..records import Service
from .core import KINDS, StoreCore, check_length, copy_record, ordered


class Services(StoreCore):
    def services(self) -> list[Service]:
        with self.lock:
            return ordered(self._t.services.values(), newest_first=False)

    def service(self, key: str) -> Service:
        """A Service by SID or unique_name, as the `{ServiceSid}` path segment allows."""
        with self.lock:
            return copy_record(self._service(key))

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
        check_length("UniqueName", unique_name, 50)
        check_length("FriendlyName", friendly_name, 255)
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
            return self._insert(self._t.services, service)

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
                check_length("FriendlyName", friendly_name, 255)
                service.friendly_name = friendly_name
            if include_credentials is not None:
                service.include_credentials = include_credentials
            if ui_editable is not None:
                service.ui_editable = ui_editable
            service.date_updated = self.clock()
            self.save()
            return copy_record(service)

    def delete_service(self, key: str) -> None:
        with self.lock:
            service = self._service(key)
            for name in KINDS:
                if name == "services":
                    continue
                table = getattr(self._t, name)
                for sid in [r.sid for r in table.values() if r.service_sid == service.sid]:
                    del table[sid]
            del self._t.services[service.sid]
            self.save()
