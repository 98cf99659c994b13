"""Deployment actions (being written)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def promote(request: HttpRequest) -> HttpResponse:
    raise Http404


redeploy = restore = clear = promote
