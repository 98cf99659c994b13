"""An environment's logs page, and the error counts after a deploy (an htmx fragment).

Thin views: the filters are parsed by log_forms.py, the reads are in
services/deploy_health.py. GET only; signing in is required by the middleware.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from deployments_app.forms import errors_sentence
from deployments_app.log_forms import DeployHealthForm, LogFilterForm
from deployments_app.services import deploy_health
from deployments_app.views.common import HtmxHttpRequest, is_partial, upstream_errors


@require_GET
@upstream_errors
def environment_logs(
    request: HtmxHttpRequest, service_sid: str, environment_sid: str
) -> HttpResponse:
    # "Load more" (htmx with a cursor) answers with rows only, after one upstream call:
    # the function names come from the cache, or the rows show SIDs.
    more = bool(request.GET.get("cursor")) and is_partial(request)
    functions = deploy_health.service_functions(service_sid=service_sid, cached_only=more)
    form = LogFilterForm(request.GET, functions=functions)
    context: dict[str, object] = {
        "service_sid": service_sid,
        "environment_sid": environment_sid,
        "form": form,
    }
    if not form.is_valid():
        if more:
            return render(
                request,
                "upstream_error.html#upstream-error",
                {"message": errors_sentence(form)},
                status=400,
            )
        response = render(request, "logs.html", context, status=400)
    elif more:
        query = form.cleaned_data
        page = deploy_health.environment_log_rows(
            service_sid=service_sid,
            environment_sid=environment_sid,
            cursor=query["cursor"],
            level=query["level"],
            functions=functions,
        )
        context |= {"page": page, "shown": (query["shown"] or 0) + len(page.rows)}
        return render(request, "logs.html#log-rows", context)
    else:
        query = form.cleaned_data
        logs = deploy_health.environment_logs(
            service_sid=service_sid,
            environment_sid=environment_sid,
            window=form.window_delta,
            level=query["level"],
            function_sid=query["function"],
            functions=functions,
            cursor=query["cursor"] or None,
        )
        context |= {"logs": logs, "page": logs.page, "shown": len(logs.page.rows)}
        response = render(request, "logs.html", context)
    # The same URL answers an htmx filter request and a page load: keep caches apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@upstream_errors
def environment_health(
    request: HtmxHttpRequest, service_sid: str, environment_sid: str
) -> HttpResponse:
    """Error-level logs since a deploy (`?since=`) beside an equal window before it."""
    form = DeployHealthForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "fragments/deploy_health.html",
            {"error": errors_sentence(form)},
            status=400,
        )
    health = deploy_health.deploy_health_cached(
        service_sid=service_sid,
        environment_sid=environment_sid,
        since=form.cleaned_data["since"],
    )
    context = {
        "health": health,
        "rollback": form.cleaned_data["rollback"],
        "service_sid": service_sid,
        "environment_sid": environment_sid,
    }
    return render(request, "fragments/deploy_health.html", context)
