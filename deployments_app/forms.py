"""Forms parse what a page or a button sends; the rules themselves live in services/.

Every GET parameter and every POST a view reads goes through one of these, so a bad
value is answered with the form's own words, naming the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError

from deployments_app.models import AuditEntry
from deployments_app.selectors import DEFAULT_HISTORY_PAGE_SIZE, HISTORY_PAGE_SIZES, LiveMarker
from deployments_app.sids import is_sid

MAX_REASON_LENGTH = 1000
MAX_FILTER_LENGTH = 100


class SidField(forms.CharField):
    """A Twilio SID of one kind, checked by the same validator the client uses."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(max_length=34, **kwargs)
        self.error_messages["max_length"] = f"This is not a valid {kind} SID (too long)."

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not is_sid(value, self.kind):
            raise ValidationError(
                "%(value)s is not a valid %(kind)s SID.",
                code="invalid_sid",
                params={"value": repr(str(value)[:40]), "kind": self.kind},
            )


def errors_sentence(form: forms.Form) -> str:
    """The form's errors as one sentence per field, each naming its field."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        parts.append(f"{label}: {' '.join(str(e) for e in errors)}")
    return " ".join(parts)


# --- deployment actions ------------------------------------------------------------------


class _Protected(forms.Form):
    """What a change to a protected environment adds: a reason, or break-glass."""

    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)
    break_glass = forms.BooleanField(required=False)
    freeze_confirmed = forms.BooleanField(required=False, label="Deploy during the freeze")


class EnvironmentActionForm(_Protected):
    service = SidField("service")
    environment = SidField("environment")


class PromoteForm(_Protected):
    service = SidField("service")
    source = SidField("environment", label="Source environment")
    target = SidField("environment", label="Target environment")


class RedeployForm(EnvironmentActionForm):
    build = SidField("build")


class ClearForm(EnvironmentActionForm):
    confirmation = forms.CharField(max_length=200, required=False)


class DecisionForm(forms.Form):
    """An approver's (or the requester's) decision on a request."""

    comment = forms.CharField(max_length=1000, required=False)
    revision = forms.IntegerField(required=False, min_value=0)


class RefreshForm(forms.Form):
    """Reconcile one service (or, without one, the whole account) now."""

    service = SidField("service", required=False)
    next = forms.CharField(required=False, max_length=500)

    def clean_next(self) -> str:
        # Only a path on this site: never an open redirect.
        target = self.cleaned_data.get("next") or ""
        return target if target.startswith("/") and not target.startswith("//") else ""


# --- pages ---------------------------------------------------------------------------------


class OverviewQueryForm(forms.Form):
    q = forms.CharField(required=False, max_length=MAX_FILTER_LENGTH, label="Filter")

    def query(self) -> str:
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


_LIVE_SALT = "history-live"


def live_token(live: LiveMarker) -> str:
    """What a first history page found live, signed, for its "Load more" links."""
    return signing.dumps([live.deployment_sid or "", live.build_sid or ""], salt=_LIVE_SALT)


class LiveField(forms.CharField):
    """The signed live marker a "Load more" link carries; a forged one is refused."""

    max_token_length = 500

    def to_python(self, value: Any) -> LiveMarker:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return LiveMarker()
        if len(text) > self.max_token_length:
            raise ValidationError("This page link is too long; reload the page.", code="too_long")
        try:
            deployment_sid, build_sid = signing.loads(text, salt=_LIVE_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise ValidationError(
                "This page link is not valid; reload the page.", code="bad_signature"
            ) from None
        return LiveMarker(deployment_sid=deployment_sid or None, build_sid=build_sid or None)


class HistoryQueryForm(forms.Form):
    """The environment page's history: rows per page, and a "Load more" cursor."""

    page_size = forms.CharField(required=False, max_length=10, label="Rows per page")
    cursor = forms.CharField(required=False, max_length=2000)
    shown = forms.IntegerField(required=False, min_value=0, max_value=10_000_000)
    live = LiveField(required=False)

    def clean_page_size(self) -> int:
        # One of the offered sizes; anything else shows the default.
        raw = self.cleaned_data.get("page_size") or ""
        size = int(raw) if raw.isdigit() else DEFAULT_HISTORY_PAGE_SIZE
        return size if size in HISTORY_PAGE_SIZES else DEFAULT_HISTORY_PAGE_SIZE


# --- audit -----------------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    """The audit page's filters, all optional; an empty form lists everything."""

    service = forms.CharField(
        required=False,
        max_length=MAX_FILTER_LENGTH,
        help_text="Service name (or part of it) or SID",
        widget=forms.TextInput(attrs={"placeholder": "Name or SID"}),
    )
    environment = forms.CharField(
        required=False,
        max_length=MAX_FILTER_LENGTH,
        help_text="Environment unique name or SID",
        widget=forms.TextInput(attrs={"placeholder": "e.g. production"}),
    )
    user = forms.CharField(
        required=False, max_length=150, widget=forms.TextInput(attrs={"placeholder": "Username"})
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEntry.Action.choices]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEntry.Outcome.choices]
    )
