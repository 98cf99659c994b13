"""GET /healthz for load balancers and uptime checks: no login, no secrets, cheap."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deployments_app.services.health import health_check


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = health_check()
    return JsonResponse(health.as_json(), status=200 if health.serving else 503)
