from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from deployments_app.roles import user_role


def product(request: HttpRequest) -> dict[str, object]:
    """What the page header shows on every page."""
    return {
        "product_name": "Release Dashboard",
        "product_version": settings.VERSION,
        "demo_mode": settings.DEMO_MODE,
        "user_role": user_role(request.user),
    }
