"""What a v1 handler gets (a parsed request) and gives back (status + JSON)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import paging, sids
from ..errors import InvalidParameter
from ..records import Record, sort_key
from ..store import Store

T = TypeVar("T", bound=Record)
Json = dict[str, Any]


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    params: dict[str, str]  # path segments by their spec names
    base: str  # the emulator's origin, for absolute URLs
    store: Store

    @property
    def account_sid(self) -> str:
        return self.store.account_sid

    def render(self, renderer: Callable[..., Json], record: Any) -> Json:
        return renderer(record, base=self.base, account_sid=self.account_sid)

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[-1] if values else None

    def required(self, name: str) -> str:
        value = self.value(name)
        if value is None:
            raise InvalidParameter(f"Missing required parameter {name} in the post body")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.value(name)
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidParameter(f"{name} must be true or false, got '{value}'")

    def sid_list(self, name: str, prefix: str) -> list[str]:
        values = self.form.get(name, [])
        for value in values:
            if not sids.is_sid(value, prefix):
                raise InvalidParameter(f"Invalid {name}: '{value}' is not a {prefix} SID")
        return values

    def service_sid(self) -> str:
        """The canonical SID of the `{ServiceSid}` segment (which may be a unique_name)."""
        return self.store.service(self.params["ServiceSid"]).sid

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Json | None = None


def listing(
    request: ApiRequest,
    *,
    list_key: str,
    parent_sid: str,
    items: Sequence[T],
    renderer: Callable[..., Json],
    newest_first: bool,
    filters: Sequence[tuple[str, str]] = (),
) -> ApiResponse:
    """A list page with Twilio's `meta`; `items` already in list order.

    `parent_sid` (the canonical SID owning the list, "" for Services) ties page
    tokens to this one list.
    """
    scope = f"{list_key}:{parent_sid}"
    page_request = paging.parse_request(request.query, scope)
    page = paging.paginate(
        items, page_request, scope=scope, key_of=sort_key, newest_first=newest_first
    )
    return ApiResponse(
        200,
        {
            list_key: [request.render(renderer, item) for item in page.items],
            "meta": paging.meta(
                base_url=request.base,
                path=request.path,
                list_key=list_key,
                request=page_request,
                page=page,
                filters=filters,
            ),
        },
    )
