"""Thin views: parse the request with a form, call one selector, render.

Full pages for normal requests; for htmx requests the same template's partial.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from deployments_app import forms, selectors
from deployments_app.services import page_cache
from deployments_app.services.deployments import user_can_clear, user_can_deploy
from deployments_app.views.common import HtmxHttpRequest, is_partial, upstream_errors


@require_GET
@upstream_errors
def overview(request: HtmxHttpRequest) -> HttpResponse:
    query = forms.OverviewQueryForm(request.GET).query()
    # The rows are kept rendered while nothing they show has changed (page_cache.py);
    # the line above them (as of when) is rendered each time.
    viewer = f"{user_can_deploy(request.user)}:{user_can_clear(request.user)}"
    cached = selectors.overview_key(query=query, viewer=viewer)
    if cached is None:  # the lists' lifetime is over: read them, then look again
        selectors.overview_lists(query=query)
        cached = selectors.overview_key(query=query, viewer=viewer)
    head: selectors.Overview | selectors.OverviewHead | None = cached.head if cached else None

    def render_rows() -> tuple[str, bool]:
        nonlocal head
        data = selectors.overview(query=query)
        head = data
        context = {"overview": data, "query": query}
        return render_to_string("overview.html#overview-rows", context, request), data.is_complete

    rows = mark_safe(page_cache.rendered(cached.key if cached else None, render_rows))  # noqa: S308
    context = {"overview": head, "rows": rows, "query": query}
    if is_partial(request):
        return render(request, "overview.html#overview-body", context)
    return render(request, "overview.html", context)


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
            {"message": forms.errors_sentence(form), "title": "This link cannot be used"},
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
        # A page size that is not offered fell back to the default: the page says so.
        "input_notes": form.notes,
    }
    return render(request, "environment.html", context)


@require_GET
@upstream_errors
def build_detail(request: HtmxHttpRequest, service_sid: str, build_sid: str) -> HttpResponse:
    detail = selectors.build_detail(service_sid=service_sid, build_sid=build_sid)
    # The status block polls itself while building; anything else (the refresh after an
    # action swaps #build-page) gets the whole page.
    polling = is_partial(request) and request.htmx.target == "build-status"
    template = "build.html#build-status" if polling else "build.html"
    return render(request, template, {"detail": detail})
