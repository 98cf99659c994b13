"""Forms parse what a page or a button sends; the rules themselves live in services/.

Every GET parameter and every POST a view reads goes through one of these, so a bad
value is answered with the form's own words, naming the field.

A value that cannot be used is never ignored silently. Which answer it gets depends on
what it decides:

- **which rows are shown** (a filter, a SID, a date): refused with 400, the field named,
  and no rows, because rows shown under a filter that was not applied would mislead;
- **how the rows are cut** (rows per page, a page number): the page falls back to a value
  that works and says so in a visible note naming what was asked and what is shown (the
  form's `notes`, `page_choice`), because the rows shown are still the right ones;
- **a download** (the audit's CSV) has no page to carry a note: a value it cannot use is
  a 400 in plain text, naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, TypeVar

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator

from deployments_app.models import AuditEntry
from deployments_app.selectors import DEFAULT_HISTORY_PAGE_SIZE, HISTORY_PAGE_SIZES, LiveMarker
from deployments_app.sids import is_sid

MAX_REASON_LENGTH = 1000
MAX_FILTER_LENGTH = 100
# How much of a value that was not used a note repeats.
MAX_QUOTED_LENGTH = 20

T = TypeVar("T")


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
        text = " ".join(str(e) for e in errors)
        if name not in form.fields:  # a rule between fields (clean()): no field to name
            parts.append(text)
            continue
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        parts.append(f"{label}: {text}")
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


def _quoted(raw: str) -> str:
    shown = raw if len(raw) <= MAX_QUOTED_LENGTH else raw[: MAX_QUOTED_LENGTH - 1] + "…"
    return f"\N{LEFT DOUBLE QUOTATION MARK}{shown}\N{RIGHT DOUBLE QUOTATION MARK}"


def _number(raw: str) -> int | None:
    # ASCII digits only: str.isdigit() takes "²", and int() takes "1_000".
    return int(raw) if re.fullmatch(r"-?[0-9]{1,18}", raw) else None


class HistoryQueryForm(forms.Form):
    """The environment page's history: rows per page, and a "Load more" cursor.

    Rows per page only cuts the history, so a size that is not offered shows the default
    with a note in `notes` (see the module's docstring); a bad cursor or marker is a 400.
    """

    page_size = forms.CharField(required=False, label="Rows per page")
    cursor = forms.CharField(required=False, max_length=2000)
    shown = forms.IntegerField(required=False, min_value=0, max_value=10_000_000)
    live = LiveField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What was asked for and not used, each a sentence for the page to show.
        self.notes: list[str] = []

    def clean_page_size(self) -> int:
        raw = self.cleaned_data.get("page_size") or ""
        if not raw:
            return DEFAULT_HISTORY_PAGE_SIZE
        size = _number(raw)
        if size in HISTORY_PAGE_SIZES:
            return size
        offered = ", ".join(str(s) for s in HISTORY_PAGE_SIZES[:-1])
        self.notes.append(
            f"Rows per page {_quoted(raw)} is not one of {offered} or "
            f"{HISTORY_PAGE_SIZES[-1]}; showing {DEFAULT_HISTORY_PAGE_SIZE}."
        )
        return DEFAULT_HISTORY_PAGE_SIZE


@dataclass(frozen=True)
class PageChoice:
    page: Page[Any]
    # Empty when the page shown is the one asked for.
    note: str = ""


def page_choice(paginator: Paginator[T], asked: str | None) -> PageChoice:
    """The page asked for, or, for a number that is not one of the pages, the nearest page
    with a note saying so (a page number only cuts the list; see the module's docstring).

    No number is the first page, without a note; text or zero and below, the first page;
    past the end, the last.
    """
    raw = (asked or "").strip()
    if not raw:
        return PageChoice(paginator.page(1))
    number = _number(raw)
    last = paginator.num_pages
    if number is not None and 1 <= number <= last:
        return PageChoice(paginator.page(number))
    shown = 1 if number is None or number < 1 else last
    if number is None:
        what = f"{_quoted(raw)} is not a page number"
    else:
        what = f"Page {number} does not exist"
    return PageChoice(paginator.page(shown), f"{what}; showing page {shown} of {last}.")


# --- audit -----------------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    """The audit page's filters, all optional; an empty form lists everything.

    A filter decides which entries are shown, so one that cannot be used is a 400 naming
    it (with the page's form, or in plain text for the CSV), never an unfiltered list.
    """

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
    # ISO dates only: 03/04/2025 means two different days to two readers.
    since = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="Entries on or after this day (UTC), as YYYY-MM-DD",
        error_messages={"invalid": "Enter a valid date, as YYYY-MM-DD (UTC)."},
        widget=forms.DateInput(attrs={"placeholder": "YYYY-MM-DD"}, format="%Y-%m-%d"),
    )

    def since_start(self) -> datetime | None:
        """The instant the `since` day begins, in UTC (the audit shows UTC times)."""
        since = self.cleaned_data.get("since")
        return datetime.combine(since, time.min, tzinfo=UTC) if since else None
