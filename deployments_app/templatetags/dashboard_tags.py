"""Display helpers for Twilio data, and the fragments every page shares.

One definition each for a build link, a build's status badge, "deployed by" and the
comparison badge, so the overview, the environment page and the build page say the same
thing the same way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.template import Context
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from deployments_app.selectors import Comparison, EnvironmentCell
from deployments_app.services.labels import Label, LabelBook
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


# Simple tags building their HTML with format_html (escaped like a template): the overview
# renders them hundreds of times, and an inclusion tag costs a template render each.


@register.simple_tag(takes_context=True)
def build_link(
    context: Context,
    service_sid: str,
    build_sid: str | None,
    empty: str = "nothing",
    css: str = "",
) -> SafeString:
    """A build's short SID linking to its page (the full SID on hover) and its label, or
    `empty`."""
    if not build_sid:
        return format_html('<span class="muted">{}</span>', empty)
    link = format_html(
        '<a class="{}" href="{}" title="{}">{}</a>',
        f"mono {css}".strip(),
        reverse("build", args=[service_sid, build_sid]),
        build_sid,
        short_sid(build_sid),
    )
    label = release_label(context, build_sid)
    return format_html("{} {}", link, label) if label else link


@register.simple_tag(takes_context=True)
def label_of(context: Context, build_sid: str | None) -> Label | None:
    """A build's label for a form or a test of it: `{% label_of sid as label %}`."""
    book = context.get("build_labels")
    return book.get(build_sid) if isinstance(book, LabelBook) else None


@register.simple_tag(takes_context=True)
def release_label(context: Context, build_sid: str | None, full: bool = False) -> SafeString:
    """The team's name for a build (services/labels.py), its note on hover or, with
    `full`, beside it; nothing for a build without one."""
    label = label_of(context, build_sid)
    if label is None:
        return SafeString("")
    if full and label.note:
        return format_html(
            '<span class="release-label">{}</span> <span class="release-note">“{}”</span>',
            label.text,
            label.note,
        )
    return format_html(
        '<span class="release-label" title="{}">{}</span>', label.note or label.text, label.text
    )


@register.simple_tag
def build_badge(build: Build | None, runtime: bool = False) -> SafeString:
    if build is None:
        return SafeString("")
    badge = format_html(
        '<span class="badge badge--{}">{}</span>', status_badge(build.status), build.status
    )
    if runtime and build.runtime:
        return format_html('{} <span class="muted">{}</span>', badge, build.runtime)
    return badge


@register.simple_tag
def deployed_by(username: str | None) -> SafeString:
    """Who made a deployment; a deployment we have no record of was made elsewhere."""
    if username:
        return format_html("{}", username)
    return SafeString('<span class="muted">outside the dashboard</span>')


def _comparison(comparison: Comparison, name: str) -> SafeString:
    style, label, title = _COMPARISONS[comparison]
    return format_html(
        '<span class="badge badge--{}" title="{}">{}</span>',
        style,
        title.format(name=name),
        label.format(name=name),
    )


@register.simple_tag
def comparison_badge(cell: EnvironmentCell) -> SafeString:
    """The cell compared with the environment before it in the pipeline."""
    if cell.comparison is None:
        return SafeString("")
    badge = _comparison(cell.comparison, cell.compared_with or "")
    if cell.comparison == Comparison.BEHIND and cell.behind_by:
        # How far: the builds the previous environment ran that this one has not.
        builds = "build" if cell.behind_by == 1 else "builds"
        return format_html(
            '<span class="badge badge--warn" data-behind-by="{}" title="{} ran {} {} newer than '
            'this one that this environment never ran">behind {} by {} {}</span>',
            cell.behind_by,
            cell.compared_with or "",
            cell.behind_by,
            builds,
            cell.compared_with or "",
            cell.behind_by,
            builds,
        )
    return badge


@register.simple_tag
def promotion_badge(cell: EnvironmentCell) -> SafeString:
    """Beside Promote: "behind production" when the next environment runs a newer build."""
    if not cell.promotes_backward or cell.next_environment is None:
        return SafeString("")
    return _comparison(Comparison.BEHIND, cell.next_environment.unique_name or "")
