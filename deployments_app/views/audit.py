"""The audit trail: every deployment action, newest first, filtered, paged, exported as CSV.

Read-only by design: these views only ever GET. The rows come from the database, never
from Twilio, so the page stays fast and available when Twilio is not.

Input that cannot be used is answered, never ignored (forms.py's docstring has the rule):
a bad filter (`since=notadate`, an unknown action) is a 400 naming the field, on the page
with the filters, and in plain text for the CSV; a page number that is not a page shows
the nearest page with a note ("Page 99999 does not exist; showing page 3 of 3").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from deployments_app.forms import AuditFilterForm, errors_sentence, page_choice
from deployments_app.models import AuditEntry
from deployments_app.selectors import audit_entry_list
from deployments_app.services.labels import LabelBook
from deployments_app.views.common import HtmxHttpRequest, is_partial

PAGE_SIZE = 50

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@require_GET
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "page_obj": None}
    status = 200
    if form.is_valid():
        paginator = Paginator(_entries(form), PAGE_SIZE)
        # A number that is not a page shows a real one, and the note says which.
        choice = page_choice(paginator, request.GET.get("page"))
        context["page_obj"] = choice.page
        context["page_note"] = choice.note
        context["filtered"] = any(form.cleaned_data.values())
    else:
        status = 400
    # A history restore (back button with htmx's cache off) needs the whole page.
    partial = is_partial(request)
    template = "audit.html#audit-results" if partial else "audit.html"
    response = render(request, template, context, status=status)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def audit_export(request: HtmxHttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        # A download has no page to show the form on: the reason, naming the field.
        return HttpResponse(
            f"Nothing exported. {errors_sentence(form)}\n",
            content_type="text/plain; charset=utf-8",
            status=400,
        )
    entries = _entries(form)
    # The technical detail of a failure may name the upstream's address: administrators only.
    columns = CSV_COLUMNS + ADMIN_CSV_COLUMNS if request.user.is_superuser else CSV_COLUMNS
    response = StreamingHttpResponse(
        _csv_lines(_csv_rows(entries.iterator(chunk_size=500), columns)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"audit-{timezone.now().astimezone(UTC).date().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _entries(form: AuditFilterForm) -> QuerySet[AuditEntry]:
    filters = dict(form.cleaned_data)
    del filters["since"]
    entries = audit_entry_list(**filters)
    # Belongs in audit_entry_list(since=...) beside the other filters, when selectors.py
    # takes it; until then the one narrowing the selector does not do.
    since = form.since_start()
    return entries.filter(created_at__gte=since) if since else entries


# --- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("created_at", "Time (UTC)"),
    ("completed_at", "Completed (UTC)"),
    ("actor", "User"),
    ("via", "Via"),
    ("client_ip", "Client IP"),
    ("action", "Action"),
    ("service_sid", "Service SID"),
    ("service_name", "Service"),
    ("service_unique_name", "Service unique name"),
    ("environment_sid", "Environment SID"),
    ("environment_name", "Environment"),
    ("source_environment_sid", "Source environment SID"),
    ("source_environment_name", "Source environment"),
    ("build_sid", "Build SID"),
    ("label:build_sid", "Build label"),
    ("previous_build_sid", "Live build before"),
    ("label:previous_build_sid", "Label of the build before"),
    ("deployment_sid", "Deployment SID"),
    ("outcome", "Outcome"),
    ("error_code", "Twilio error code"),
    ("error_kind", "Error kind"),
    ("error_message", "Error message"),
    ("reason", "Reason"),
    ("request_id", "Approval request"),
)
ADMIN_CSV_COLUMNS: tuple[tuple[str, str], ...] = (("error_detail", "Error detail"),)


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(
    entries: Iterable[AuditEntry], columns: tuple[tuple[str, str], ...]
) -> Iterator[list[str]]:
    yield [title for _, title in columns]
    labels = LabelBook()
    for entry in entries:
        yield [_csv_cell(_csv_value(entry, name, labels)) for name, _ in columns]


def _csv_value(entry: AuditEntry, name: str, labels: LabelBook) -> object:
    # "label:<field>": the release label of the build SID in that field.
    if name.startswith("label:"):
        label = labels.get(getattr(entry, name.removeprefix("label:")))
        return label.text if label else ""
    return getattr(entry, name)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    text = str(value)
    # A leading quote makes the spreadsheet show the text instead of evaluating it.
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)
