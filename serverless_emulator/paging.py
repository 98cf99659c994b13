"""Twilio-style paging: PageSize/Page/PageToken in, `meta` out.

Tokens are keyset cursors, not offsets: "PA" (items after) or "PB" (items
before) plus the encoded (date_created, seq) of the item at the page edge. A
deployment created between two page reads therefore cannot shift a page:
following `next_page_url` visits every item that existed at the start exactly
once. The list's key and scope (its parent's SID) are inside the token, so a
token from another list, e.g. another environment's deployments, is refused
rather than silently misapplied.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from .errors import ApiError, InvalidParameter

T = TypeVar("T")
Key = tuple[float, int]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Codes chosen with the project lead; Twilio does not document them per API.
PAGE_SIZE_CODE = 20007
PAGE_TOKEN_CODE = 21481


@dataclass(frozen=True)
class Cursor:
    after: bool  # True: "PA", items after the key; False: "PB", items before it
    key: Key


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    page: int
    cursor: Cursor | None
    token: str | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None
    previous_token: str | None


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def parse_request(query: dict[str, list[str]], scope: str) -> PageRequest:
    raw_size = _single(query, "PageSize")
    try:
        page_size = DEFAULT_PAGE_SIZE if raw_size is None else int(raw_size)
    except ValueError:
        raise InvalidParameter(f"PageSize must be an integer, got '{raw_size}'") from None
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(
            f"PageSize must be between 1 and {MAX_PAGE_SIZE}, got {page_size}",
            status=400,
            code=PAGE_SIZE_CODE,
        )
    raw_page = _single(query, "Page")
    try:
        page = 0 if raw_page is None else int(raw_page)
    except ValueError:
        raise InvalidParameter(f"Page must be an integer, got '{raw_page}'") from None
    if page < 0:
        raise InvalidParameter("Page must be 0 or greater")
    token = _single(query, "PageToken")
    cursor = None if token is None else decode_token(token, scope)
    if cursor is None and page > 0:
        # Twilio's answer to absolute paging: Page is only client state.
        raise InvalidParameter("PageToken is required for paging.")
    return PageRequest(page_size=page_size, page=page, cursor=cursor, token=token)


def encode_token(after: bool, scope: str, key: Key) -> str:
    payload = json.dumps([scope, key[0], key[1]], separators=(",", ":")).encode()
    return ("PA" if after else "PB") + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str, scope: str) -> Cursor:
    invalid = ApiError(f"Invalid PageToken '{token}'", status=400, code=PAGE_TOKEN_CODE)
    if token[:2] not in ("PA", "PB"):
        raise invalid
    body = token[2:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid from None
    match decoded:
        case [str(token_scope), int() | float() as date, int(seq)] if token_scope == scope:
            return Cursor(after=token.startswith("PA"), key=(float(date), seq))
        case _:
            raise invalid


def paginate(
    items: Sequence[T],
    request: PageRequest,
    *,
    scope: str,
    key_of: Callable[[T], Key],
    newest_first: bool,
) -> Page[T]:
    """Cut one page out of `items`, which must already be in list order."""
    # Positions are found on keys mapped to ascending order, whatever the direction.
    sign = -1 if newest_first else 1
    ascending = [(sign * k[0], sign * k[1]) for k in map(key_of, items)]
    size = request.page_size
    if request.cursor is None:
        start, end = 0, min(size, len(items))
    else:
        probe = (sign * request.cursor.key[0], sign * request.cursor.key[1])
        if request.cursor.after:
            start = bisect.bisect_right(ascending, probe)
            end = min(start + size, len(items))
        else:
            end = bisect.bisect_left(ascending, probe)
            start = max(0, end - size)
    chosen = list(items[start:end])
    next_token = previous_token = None
    if chosen and end < len(items):
        next_token = encode_token(True, scope, key_of(chosen[-1]))
    if chosen and start > 0 and request.cursor is not None:
        previous_token = encode_token(False, scope, key_of(chosen[0]))
    return Page(items=chosen, next_token=next_token, previous_token=previous_token)


def meta(
    *,
    base_url: str,
    path: str,
    list_key: str,
    request: PageRequest,
    page: Page[Any],
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The `meta` object; every URL absolute on the emulator's own host."""

    def url(page_number: int, token: str | None) -> str:
        params = [*filters, ("PageSize", str(request.page_size)), ("Page", str(page_number))]
        if token is not None:
            params.append(("PageToken", token))
        return f"{base_url}{path}?{urlencode(params)}"

    return {
        "first_page_url": url(0, None),
        "key": list_key,
        "next_page_url": url(request.page + 1, page.next_token) if page.next_token else None,
        "page": request.page,
        "page_size": request.page_size,
        "previous_page_url": (
            url(max(request.page - 1, 0), page.previous_token) if page.previous_token else None
        ),
        "url": url(request.page, request.token),
    }
