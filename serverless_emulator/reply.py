"""An HTTP answer as the server will write it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

JSON = "application/json"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        return cls(status, json.dumps(payload).encode("utf-8"), JSON, headers or [])

    @classmethod
    def error(cls, error: ApiError, headers: list[tuple[str, str]] | None = None) -> Reply:
        return cls.json(error.status, error.body(), headers)
