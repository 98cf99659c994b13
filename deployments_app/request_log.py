"""Every log record knows the request it was written for: its id and the user.

A middleware sets both for the request's thread (and the client's pool threads inherit
them, see ServerlessClient.read_many); a log record factory copies them onto each record;
`JsonFormatter` writes one JSON object per line for log collectors. Messages are written
as the code wrote them: the client already keeps credentials out of every message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponseBase

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
request_user: contextvars.ContextVar[str] = contextvars.ContextVar("request_user", default="-")

# A proxy's id is kept when it looks like one (no spaces or quotes to forge a log line).
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestLogMiddleware:
    """After authentication: names the request (X-Request-ID) and its user for the logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        user = getattr(request, "user", None)
        name = user.get_username() if user is not None and user.is_authenticated else "-"
        tokens = (request_id.set(rid), request_user.set(name))
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(tokens[0])
            request_user.reset(tokens[1])
        response["X-Request-ID"] = rid
        return response


def install_record_factory() -> None:
    """Give every LogRecord `request_id` and `user` (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id.get()
        record.user = request_user.get()
        return record

    factory.adds_request = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, user."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user": getattr(record, "user", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A readable line with the request id and user (a dash before any request)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s",
            defaults={"request_id": "-", "user": "-"},
        )
