"""Every v1 request the emulator answered, for tests to inspect."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]
    status: int  # 0 when the connection was dropped without an answer
    response_body: bytes

    def json(self) -> Any:
        return json.loads(self.response_body)

    def to_json(self, *, redact_auth: bool = True) -> dict[str, Any]:
        headers = dict(self.headers)
        if redact_auth:
            for name in headers:
                if name.lower() == "authorization":
                    headers[name] = "Basic <redacted>"
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "form": self.form,
            "headers": headers,
            "status": self.status,
            "response_body": self.response_body.decode("utf-8", errors="replace"),
        }


class RequestLog:
    """A thread-safe, append-only list of RecordedRequest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests with this method and/or exact path."""
        return [
            r
            for r in self.snapshot()
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedRequest]: ...
    def __getitem__(self, index: int | slice) -> RecordedRequest | list[RecordedRequest]:
        with self._lock:
            return self._items[index]
