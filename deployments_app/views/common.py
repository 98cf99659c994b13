"""What every view module shares: the request type and the upstream-error decorator."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from deployments_app.services.serverless_errors import (
    InvalidRequest,
    NotFound,
    ServerlessError,
)
from deployments_app.services.upstream_budget import page_budget

logger = logging.getLogger(__name__)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def is_partial(request: HtmxHttpRequest) -> bool:
    """Whether to answer with a fragment: the one way views ask "is this htmx?".

    htmx's back-button restore (history_restore_request) needs the whole page.
    """
    return bool(request.htmx) and not request.htmx.history_restore_request


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a known proxy sets it.
    return request.META.get("REMOTE_ADDR") or None


def upstream_errors(view: View) -> View:
    """Render an upstream failure as a clear message in the page, never a 500.

    htmx requests get the message fragment (htmx is configured in base.html to swap
    4xx/5xx answers); full requests get the page frame around it.
    """

    @functools.wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Reads for a page share one upstream budget; an action's POST (and the reads that
        # settle its outcome) are never cut short.
        budget = (
            page_budget(settings.DASHBOARD_PAGE_UPSTREAM_SECONDS)
            if request.method == "GET"
            else contextlib.nullcontext()
        )
        try:
            with budget:
                return view(request, *args, **kwargs)
        except ServerlessError as exc:
            logger.warning("Upstream failure in %s: %r", view.__name__, exc)
            if isinstance(exc, NotFound):
                status = 404
            elif isinstance(exc, InvalidRequest):
                status = 400
            else:
                status = 502
            template = "upstream_error.html"
            if is_partial(request):
                template += "#upstream-error"
            return render(request, template, {"message": exc.user_message}, status=status)

    return wrapper
