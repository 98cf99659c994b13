"""The logs page's filters and the deploy-health fragment's input, parsed and checked.

Every filter here decides which logs are shown, so a value that cannot be used is a 400
naming the field (forms.py's docstring has the rule), never an unfiltered list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from deployments_app.forms import SidField
from deployments_app.services.deploy_health import LEVELS
from deployments_app.services.serverless_types import Function

# The windows offered, by the value the URL carries.
WINDOWS: dict[str, tuple[str, timedelta]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}
DEFAULT_WINDOW = "24h"
LEVEL_LABELS = {"info": "Info", "warn": "Warning", "error": "Error"}
# A deploy older than this is no "after a deploy" any more (and its windows would be long).
MAX_SINCE_AGE = timedelta(days=30)
# Clocks differ a little between a browser, this server and Twilio.
FUTURE_TOLERANCE = timedelta(minutes=2)


def iso_utc(value: datetime) -> str:
    """A moment as the URLs carry it: ISO 8601 in UTC, whole seconds, a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SinceField(forms.DateTimeField):
    """When a deploy happened: an ISO 8601 date-time (UTC when no offset is given)."""

    default_error_messages = {
        "invalid": "Enter a date-time in ISO 8601, e.g. 2025-06-11T14:30:00Z.",
    }

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        now = timezone.now()
        if value > now + FUTURE_TOLERANCE:
            raise ValidationError("This is in the future.", code="future")
        if value < now - MAX_SINCE_AGE:
            raise ValidationError(
                "This is more than %(days)d days ago.",
                code="too_old",
                params={"days": MAX_SINCE_AGE.days},
            )

    def clean(self, value: Any) -> Any:
        # A moment a little ahead (another clock) is taken as now: nothing has happened
        # after it yet.
        cleaned = super().clean(value)
        return min(cleaned, timezone.now()) if cleaned is not None else None


class LogFilterForm(forms.Form):
    """Level, function and window; a "Load more" cursor; a deploy time for the health line.

    `functions` are the service's functions when known: the function select offers them
    and a SID that is not one of them is refused. Without them (a "Load more" before
    they are cached) a function is checked as a SID only; its cursor holds the filter.
    """

    level = forms.ChoiceField(
        required=False,
        label="Level",
        choices=[("", "Any level"), *((level, LEVEL_LABELS[level]) for level in LEVELS)],
    )
    function = SidField("function", required=False, label="Function")
    window = forms.ChoiceField(
        required=False,
        label="Window",
        choices=[(value, label) for value, (label, _) in WINDOWS.items()],
    )
    since = SinceField(required=False, label="Deployed at", widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    shown = forms.IntegerField(
        required=False, min_value=0, max_value=10_000_000, widget=forms.HiddenInput
    )

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        functions: Sequence[Function] | None = None,
        **kwargs: Any,
    ) -> None:
        if data is not None and not data.get("window"):
            # The default window is the one the select shows as chosen, too.
            data = data.copy()
            data["window"] = DEFAULT_WINDOW
        super().__init__(data, **kwargs)
        self.functions = functions
        choices = [("", "Any function")]
        choices += [(f.sid, f.friendly_name or f.sid) for f in functions or ()]
        self.fields["function"].widget = forms.Select(choices=choices)
        # Field ids the page's labels point at, distinct from other forms' on the page.
        self.auto_id = "logs-%s"

    def clean_function(self) -> str | None:
        value = self.cleaned_data.get("function") or None
        if value and self.functions is not None and value not in {f.sid for f in self.functions}:
            raise ValidationError(
                "%(value)s is not a function of this service.",
                code="unknown_function",
                params={"value": repr(value)},
            )
        return value

    def clean_level(self) -> str | None:
        return self.cleaned_data.get("level") or None

    def clean_window(self) -> str:
        return self.cleaned_data.get("window") or DEFAULT_WINDOW

    @property
    def window_delta(self) -> timedelta:
        return WINDOWS[self.cleaned_data.get("window") or DEFAULT_WINDOW][1]

    @property
    def since_param(self) -> str:
        """The deploy time as the page's links carry it ("" when none was given)."""
        since = self.cleaned_data.get("since")
        return iso_utc(since) if since else ""


class DeployHealthForm(forms.Form):
    """The deploy-health fragment's input: when the deploy happened, and the build to offer
    rolling back to when errors rise."""

    since = SinceField(label="Deployed at")
    rollback = SidField("build", required=False, label="Roll back to")
