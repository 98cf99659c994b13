"""The contract: Twilio's OpenAPI document for Serverless v1, as test helpers.

`validate_request(recorded)` checks a request some client sent (path, method,
query, form body, Basic auth) against the spec; `validate_response(...)`
checks an answer: success bodies against the operation's schema, 4xx/5xx
bodies against ERROR_SCHEMA. Both raise AssertionError with the reasons.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

_SHARED_SPEC = Path(__file__).resolve().parents[1].parent / "shared/spec/twilio_serverless_v1.json"
# A vendored, unchanged copy (MIT, see tests/data/LICENSE-twilio-oai) for
# checkouts without /work/shared.
_VENDORED_SPEC = Path(__file__).resolve().parent / "data/twilio_serverless_v1.json"
SPEC_PATH = _SHARED_SPEC if _SHARED_SPEC.exists() else _VENDORED_SPEC

# Requests are validated as if sent to the spec's own server; only the path matters.
SPEC_SERVER = "https://serverless.twilio.com"
FORM = "application/x-www-form-urlencoded"

# The spec documents no error responses at all (every operation lists only its
# 2xx). This is the body Twilio's REST APIs send on 4xx/5xx; `detail` shows up
# on 401s, `details` on some validation errors.
ERROR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {
            "type": "string",
            "pattern": r"^https://www\.twilio\.com/docs/errors/[0-9]+$",
        },
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "details": {"type": "object"},
    },
    "additionalProperties": False,
}


class RecordedRequestLike(Protocol):
    """What validate_request reads; serverless_emulator.RecordedRequest fits."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> Mapping[str, list[str]]: ...
    @property
    def form(self) -> Mapping[str, list[str]]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def openapi() -> OpenAPI:
    # Loading takes ~0.5 s: once per test session.
    return OpenAPI.from_file_path(str(SPEC_PATH))


def operations() -> Iterator[tuple[str, str, str]]:
    """(METHOD, path template, operationId) for every operation in the spec."""
    for path, item in spec()["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                yield method.upper(), path, item[method]["operationId"]


def schema_properties(name: str) -> set[str]:
    """Property names of a component schema, e.g. 'serverless.v1.service'."""
    return set(spec()["components"]["schemas"][name]["properties"])


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _explain(error: BaseException) -> str:
    """The exception chain, with every schema error openapi-core collected."""
    lines: list[str] = []
    current: BaseException | None = error
    while current is not None:
        lines.append(f"{type(current).__name__}: {current}")
        for schema_error in getattr(current, "schema_errors", ()) or ():
            where = "/".join(str(p) for p in schema_error.absolute_path) or "(root)"
            lines.append(f"  at {where}: {schema_error.message}")
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def validate_request(recorded: RecordedRequestLike) -> None:
    """Check a recorded request against the spec: path, method, query, form, auth."""
    content_type = (_header(recorded.headers, "Content-Type") or FORM).split(";")[0].strip()
    pairs = [(name, value) for name, values in recorded.form.items() for value in values]
    request = MockRequest(
        SPEC_SERVER,
        recorded.method.lower(),
        recorded.path,
        args={name: list(values) for name, values in recorded.query.items()},
        headers=dict(recorded.headers),
        data=urlencode(pairs).encode() if pairs else None,
        content_type=content_type,
    )
    try:
        openapi().validate_request(request)
    except Exception as error:
        raise AssertionError(
            f"{recorded.method} {recorded.path} does not match the spec:\n{_explain(error)}"
        ) from error


def validate_error(status: int, body: bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Check a Twilio error body; returns it parsed."""
    parsed = json.loads(body) if isinstance(body, bytes | bytearray) else dict(body)
    try:
        jsonschema.validate(parsed, ERROR_SCHEMA)
    except jsonschema.ValidationError as error:
        raise AssertionError(f"not a Twilio error body: {error.message}\n{parsed}") from error
    assert parsed["status"] == status, f"body status {parsed['status']} != HTTP {status}"
    assert parsed["more_info"].endswith(f"/{parsed['code']}")
    return parsed


def validate_response(
    method: str,
    url: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> None:
    """Check an answer: 2xx against the operation's schema, the rest against ERROR_SCHEMA."""
    if status >= 400:
        validate_error(status, body)
        return
    split = urlsplit(url)
    content_type = (_header(headers, "Content-Type") or "application/json").split(";")[0]
    request = MockRequest(
        SPEC_SERVER,
        method.lower(),
        split.path,
        args={k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()},
    )
    response = MockResponse(
        body, status_code=status, headers=dict(headers), content_type=content_type
    )
    try:
        openapi().validate_response(request, response)
    except Exception as error:
        raise AssertionError(
            f"{method} {split.path} -> {status} does not match the spec:\n{_explain(error)}"
        ) from error
