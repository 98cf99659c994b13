"""Thin views: parse the request with a form, call one selector, render.

Full pages for normal requests; for htmx requests the same template's partial.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from deployments_app import forms, selectors
from deployments_app.views.common import HtmxHttpRequest, is_partial, upstream_errors


@require_GET
def overview(request: HtmxHttpRequest) -> HttpResponse:
    query = forms.OverviewQueryForm(request.GET).query()
    data = selectors.overview(query=query)
    template = "overview.html#overview-body" if is_partial(request) else "overview.html"
    return render(request, template, {"overview": data, "query": query})


@require_GET
@upstream_errors
def overview_row(request: HtmxHttpRequest, service_sid: str) -> HttpResponse:
    """One service's row, complete: what a pending row of the overview loads."""
    row = selectors.overview_row(service_sid=service_sid)
    return render(request, "overview.html#service-row", {"row": row})


@require_GET
@upstream_errors
def environment_detail(
    request: HtmxHttpRequest, service_sid: str, environment_sid: str
) -> HttpResponse:
    form = forms.HistoryQueryForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "upstream_error.html#upstream-error" if is_partial(request) else "upstream_error.html",
            {"message": forms.errors_sentence(form)},
            status=400,
        )
    query = form.cleaned_data
    context: dict[str, object] = {"service_sid": service_sid, "environment_sid": environment_sid}
    if query["cursor"] and is_partial(request):
        # "Load more": one upstream list call for the next page, rows only.
        history = selectors.history_page(
            service_sid=service_sid,
            environment_sid=environment_sid,
            cursor=query["cursor"],
            live=query["live"],
        )
        context |= {
            "history": history,
            "shown": (query["shown"] or 0) + len(history.rows),
            "live_token": request.GET.get("live", ""),
        }
        return render(request, "environment.html#history-rows", context)
    detail = selectors.environment_detail(
        service_sid=service_sid,
        environment_sid=environment_sid,
        page_size=query["page_size"],
        cursor=query["cursor"] or None,
    )
    context |= {
        "detail": detail,
        "history": detail.history,
        "shown": len(detail.history.rows),
        "page_sizes": selectors.HISTORY_PAGE_SIZES,
        "live_token": forms.live_token(detail.live),
    }
    return render(request, "environment.html", context)


@require_GET
@upstream_errors
def build_detail(request: HtmxHttpRequest, service_sid: str, build_sid: str) -> HttpResponse:
    detail = selectors.build_detail(service_sid=service_sid, build_sid=build_sid)
    template = "build.html#build-status" if is_partial(request) else "build.html"
    return render(request, template, {"detail": detail})
