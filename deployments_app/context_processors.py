from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from deployments_app.roles import APPROVE_PERMISSION, user_role
from deployments_app.services.deployments import user_can_clear, user_can_deploy
from deployments_app.services.labels import LabelBook


def product(request: HttpRequest) -> dict[str, object]:
    """What the page header shows on every page."""
    return {
        "product_name": "Release Dashboard",
        "product_version": settings.VERSION,
        "demo_mode": settings.DEMO_MODE,
        "user_role": user_role(request.user),
        # Only to decide which buttons to show; every action checks again on the server.
        "can_deploy": user_can_deploy(request.user),
        "can_clear": user_can_clear(request.user),
        "is_approver": request.user.is_authenticated and request.user.has_perm(APPROVE_PERMISSION),
        # Release labels, read on the first build link a page renders.
        "build_labels": LabelBook(),
    }
