"""Refuse a request that carries a NUL character anywhere in its query or form.

No field of the dashboard takes one, and PostgreSQL cannot store one: such a request would
otherwise fail deep inside (the sign-in throttling's or the audit's write) as a 503 instead
of a clear answer. Django's form fields refuse NUL too; this covers what is read before them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NUL = "\x00"
MESSAGE = "A field of this request contains a NUL character, which no field takes."


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    for data in (request.GET, request.POST if request.method == "POST" else None):
        if data is None:
            continue
        for key, values in data.lists():
            if NUL in key or any(NUL in value for value in values):
                return True
    return False


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            # The page frame, or its message alone for htmx (as upstream errors are shown).
            partial = request.headers.get("HX-Request") == "true"
            template = "upstream_error.html#upstream-error" if partial else "upstream_error.html"
            context = {"title": "This request cannot be used", "message": MESSAGE}
            return render(request, template, context, status=400)
        return self.get_response(request)
