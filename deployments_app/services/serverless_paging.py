"""Paging and cursors: pure helpers for the client's `*_iter` and `*_page` reads.

A cursor is the urlsafe base64 (unpadded) of the next page's path and query, relative
to the API's base URL: never a host. Decoding one accepts only the path of the list
being read, with the spec's paging parameters (and the Logs filters), so a cursor from
a user's URL cannot make the client call another host, path or list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from deployments_app.sids import is_sid

from .serverless_config import MAX_PAGE_SIZE
from .serverless_errors import InvalidRequest, UpstreamUnavailable

__all__ = [
    "CURSOR_PARAMS",
    "MAX_PAGES",
    "decode_cursor",
    "encode_cursor",
    "relative_target",
    "with_query",
]

# Query parameters a cursor may carry: the spec's paging parameters and the Logs filters.
CURSOR_PARAMS = frozenset({"PageSize", "Page", "PageToken", "FunctionSid", "StartDate", "EndDate"})
# A list bigger than this many pages is a paging loop, not data.
MAX_PAGES = 10_000


def relative_target(url: str, *, base_path: str) -> str:
    """Path and query of an upstream URL, relative to our base URL (host dropped).

    The next page is always requested from the configured base URL: a next_page_url
    naming another host must not receive our credentials.
    """
    parts = urlsplit(url)
    path = parts.path
    if base_path and path.startswith(base_path + "/v1/"):
        path = path[len(base_path) :]
    if not path.startswith("/v1/") or has_dot_segment(path):
        raise UpstreamUnavailable(
            "Twilio sent a next_page_url outside the API", method="GET", path=path[:100]
        )
    return f"{path}?{parts.query}" if parts.query else path


def decode_cursor(cursor: str, *, expected_path: str) -> str:
    """The page target a cursor stands for, or InvalidRequest.

    A cursor comes from a user's URL: only a path of the very list being read, with
    the spec's paging (and Logs filter) parameters, is accepted.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    parts = urlsplit(raw)
    valid = (
        bool(raw)
        and not parts.scheme
        and not parts.netloc
        and not parts.fragment
        and same_list(parts.path, expected_path)
    )
    if valid:
        try:
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            query = []
            valid = False
        valid = valid and all(name in CURSOR_PARAMS for name, _ in query)
        valid = valid and all(cursor_value_ok(name, value) for name, value in query)
    if not valid:
        raise InvalidRequest("This page link is not valid; start again from the first page")
    return raw


def with_query(path: str, params: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def path_of(target: str) -> str:
    return target.split("?", 1)[0]


def encode_cursor(target: str | None) -> str | None:
    if target is None:
        return None
    return base64.urlsafe_b64encode(target.encode("ascii")).decode("ascii").rstrip("=")


def has_dot_segment(path: str) -> bool:
    segments = path.lower().replace("%2e", ".").split("/")
    return any(segment in {".", ".."} for segment in segments) or "//" in path or "\\" in path


def same_list(path: str, expected: str) -> bool:
    """Whether a cursor's path is the list being read.

    Segments must match exactly, except that a Service addressed by unique name may come
    back addressed by its SID (Twilio's next_page_url uses the SID).
    """
    if has_dot_segment(path):
        return False
    got, want = path.split("/"), expected.split("/")
    if len(got) != len(want):
        return False
    for index, (segment, wanted) in enumerate(zip(got, want, strict=True)):
        if segment == wanted:
            continue
        is_service_segment = index == 3 and want[2] == "Services"
        if not (is_service_segment and is_sid(segment, "service")):
            return False
    return True


def cursor_value_ok(name: str, value: str) -> bool:
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    if name == "PageSize":
        return value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE
    if name == "Page":
        return value.isascii() and value.isdigit()
    if name == "FunctionSid":
        return is_sid(value, "function")
    if name in {"StartDate", "EndDate"}:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    # PageToken: opaque to us, but only printable and short.
    return value.isprintable() and len(value) <= 512
