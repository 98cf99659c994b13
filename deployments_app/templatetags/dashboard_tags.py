"""Display helpers for Twilio data, and the fragments every page shares.

One definition each for a build link, a build's status badge, "deployed by" and the
comparison badge, so the overview, the environment page and the build page say the same
thing the same way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from deployments_app.selectors import Comparison, EnvironmentCell
from deployments_app.services.serverless_types import (
    BUILD_BUILDING,
    BUILD_COMPLETED,
    BUILD_FAILED,
    Build,
)

register = template.Library()

_STATUS_BADGES = {BUILD_COMPLETED: "ok", BUILD_BUILDING: "info", BUILD_FAILED: "err"}

# Badge style and words for each comparison with the previous environment.
_COMPARISONS = {
    Comparison.SAME: ("ok", "= {name}", "Same build as {name}"),
    Comparison.BEHIND: ("warn", "behind {name}", "Runs an older build than {name}"),
    Comparison.AHEAD: ("info", "ahead of {name}", "Runs a newer build than {name}"),
    Comparison.DIFFERENT: ("warn", "differs from {name}", "Runs another build than {name}"),
}


@register.filter
def short_sid(value: str | None) -> str:
    """ZB1234…cdef: the prefix and enough hex to tell SIDs apart at a glance."""
    if not value:
        return ""
    return f"{value[:8]}…{value[-4:]}" if len(value) > 14 else value


@register.filter
def status_badge(status: str | None) -> str:
    return _STATUS_BADGES.get(status or "", "")


@register.simple_tag
def url_with(name: str, *args: Any, **params: Any) -> str:
    """A URL and its query string, written once for a link's href and its hx-get."""
    base = reverse(name, args=args)
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{base}?{query}" if query else base


@register.inclusion_tag("fragments/build_link.html")
def build_link(
    service_sid: str, build_sid: str | None, empty: str = "nothing", css: str = ""
) -> dict[str, Any]:
    """A build's short SID linking to its page (the full SID on hover), or `empty`."""
    return {"service_sid": service_sid, "build_sid": build_sid, "empty": empty, "css": css}


@register.inclusion_tag("fragments/build_badge.html")
def build_badge(build: Build | None, runtime: bool = False) -> dict[str, Any]:
    return {"build": build, "runtime": runtime}


@register.inclusion_tag("fragments/deployed_by.html")
def deployed_by(username: str | None) -> dict[str, Any]:
    """Who made a deployment; a deployment we have no record of was made elsewhere."""
    return {"username": username}


@register.inclusion_tag("fragments/comparison_badge.html")
def comparison_badge(cell: EnvironmentCell) -> dict[str, Any]:
    if cell.comparison is None:
        return {}
    style, label, title = _COMPARISONS[cell.comparison]
    name = cell.compared_with or ""
    return {
        "style": style,
        "label": label.format(name=name),
        "title": title.format(name=name),
    }
