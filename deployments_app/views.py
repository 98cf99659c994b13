"""Thin views: parse the request, call one selector or service, render.

Full pages for normal requests; for htmx requests the same template's partial.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from deployments_app import selectors
from deployments_app.services.serverless_errors import NotFound, ServerlessError

logger = logging.getLogger(__name__)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def upstream_errors(view: View) -> View:
    """Render an upstream failure as a clear message in the page, never a 500.

    htmx requests get the message fragment (htmx is configured in base.html to swap
    4xx/5xx answers); full requests get the page frame around it.
    """

    @functools.wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServerlessError as exc:
            logger.warning("Upstream failure in %s: %r", view.__name__, exc)
            status = 404 if isinstance(exc, NotFound) else 502
            template = "upstream_error.html"
            if request.htmx:
                template += "#upstream-error"
            return render(request, template, {"message": exc.user_message}, status=status)

    return wrapper


@require_GET
def overview(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    data = selectors.overview(query=query)
    template = "overview.html#overview-body" if request.htmx else "overview.html"
    return render(request, template, {"overview": data, "query": query})


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", selectors.DEFAULT_HISTORY_PAGE_SIZE))
    except ValueError:
        return selectors.DEFAULT_HISTORY_PAGE_SIZE
    return size if size in selectors.HISTORY_PAGE_SIZES else selectors.DEFAULT_HISTORY_PAGE_SIZE


def _shown(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("shown", "0")))
    except ValueError:
        return 0


@require_GET
@upstream_errors
def environment_detail(
    request: HtmxHttpRequest, service_sid: str, environment_sid: str
) -> HttpResponse:
    cursor = request.GET.get("cursor")
    if cursor and request.htmx:
        # "Load more": one upstream list call for the next page, rows only.
        history = selectors.history_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            cursor=cursor,
            live_deployment_sid=request.GET.get("live") or None,
        )
        context = {
            "history": history,
            "shown": _shown(request) + len(history.rows),
            "service_sid": service_sid,
            "environment_sid": environment_sid,
            "live_deployment_sid": request.GET.get("live", ""),
        }
        return render(request, "environment.html#history-rows", context)
    detail = selectors.environment_detail(
        service_sid=service_sid,
        environment_sid=environment_sid,
        page_size=_page_size(request),
        cursor=cursor,
    )
    context = {
        "detail": detail,
        "history": detail.history,
        "shown": len(detail.history.rows),
        "page_sizes": selectors.HISTORY_PAGE_SIZES,
        "service_sid": service_sid,
        "environment_sid": environment_sid,
        "live_deployment_sid": detail.live_deployment_sid or "",
    }
    return render(request, "environment.html", context)


@require_GET
@upstream_errors
def build_detail(request: HtmxHttpRequest, service_sid: str, build_sid: str) -> HttpResponse:
    detail = selectors.build_detail(service_sid=service_sid, build_sid=build_sid)
    template = "build.html#build-status" if request.htmx else "build.html"
    return render(request, template, {"detail": detail})
