"""Thin views: parse the request, call one selector or service, render.

Full pages for normal requests; for htmx requests the same template's partial.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from deployments_app import selectors
from deployments_app.views.common import HtmxHttpRequest, upstream_errors, wants_partial


@require_GET
def overview(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    data = selectors.overview(query=query)
    template = "overview.html#overview-body" if wants_partial(request) else "overview.html"
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
    if cursor and wants_partial(request):
        # "Load more": one upstream list call for the next page, rows only.
        history = selectors.history_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            cursor=cursor,
            live_deployment_sid=request.GET.get("live") or None,
            live_build_sid=request.GET.get("live_build") or None,
        )
        context = {
            "history": history,
            "shown": _shown(request) + len(history.rows),
            "service_sid": service_sid,
            "environment_sid": environment_sid,
            "live_deployment_sid": request.GET.get("live", ""),
            "live_build_sid": request.GET.get("live_build", ""),
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
        "live_build_sid": detail.environment.build_sid or "",
    }
    return render(request, "environment.html", context)


@require_GET
@upstream_errors
def build_detail(request: HtmxHttpRequest, service_sid: str, build_sid: str) -> HttpResponse:
    detail = selectors.build_detail(service_sid=service_sid, build_sid=build_sid)
    template = "build.html#build-status" if wants_partial(request) else "build.html"
    return render(request, template, {"detail": detail})
