"""Small display helpers for Twilio data."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def short_sid(value: str | None) -> str:
    """ZB1234…cdef: the prefix and enough hex to tell SIDs apart at a glance."""
    if not value:
        return ""
    return f"{value[:8]}…{value[-4:]}" if len(value) > 14 else value


@register.filter
def status_badge(status: str | None) -> str:
    return {"completed": "ok", "building": "info", "failed": "err"}.get(status or "", "")
