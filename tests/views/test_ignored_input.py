"""Input that cannot be used is answered, never ignored in silence.

The rule (forms.py's docstring): a value that decides which rows are shown (a filter, a
date) is a 400 naming the field; one that only cuts them (rows per page, a page number)
falls back to one that works, with a visible note; the CSV has no page for a note, so
it answers a 400 in plain text.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from deployments_app.models import AuditEntry

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def note(body: str) -> str:
    """The text of the page's note about input it did not use ("" when there is none)."""
    found = re.search(r"<p [^>]*data-ignored-input[^>]*>(.*?)</p>", body, re.S)
    return found.group(1).strip() if found else ""


def entries(count: int, *, start: datetime = START) -> list[AuditEntry]:
    return [
        AuditEntry.objects.create(
            created_at=start + timedelta(minutes=minute),
            actor="rita",
            action=AuditEntry.Action.PROMOTE,
            service_sid="ZS" + "1" * 32,
            environment_sid="ZE" + "2" * 32,
            environment_name="stage",
            outcome=AuditEntry.Outcome.SUCCEEDED,
        )
        for minute in range(count)
    ]


def shown(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-audit-entry="(\d+)"', body)]


# --- rows per page on the environment page: a fallback, with a note ------------------------


@pytest.fixture
def history_url(upstream) -> str:
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    return f"/services/{service.sid}/environments/{dev.sid}/"


@pytest.mark.parametrize("asked", ["abc", "-1", "100000", "10", "1_000", "\N{SUPERSCRIPT TWO}"])
def test_a_page_size_that_is_not_offered_shows_the_default_and_says_so(
    manager_client, history_url, asked
):
    response = manager_client.get(history_url, {"page_size": asked})

    body = response.content.decode()
    assert response.status_code == 200
    assert note(body) == (
        f"Rows per page \N{LEFT DOUBLE QUOTATION MARK}{asked}\N{RIGHT DOUBLE QUOTATION MARK}"
        " is not one of 25, 50, 100 or 1000; showing 50."
    )
    assert body.count("data-deployment=") == 50
    assert re.search(r'<option value="50" selected>', body)


def test_the_note_quotes_a_long_value_only_in_part(manager_client, history_url):
    body = manager_client.get(history_url, {"page_size": "9" * 500}).content.decode()
    assert "9" * 19 + "\N{HORIZONTAL ELLIPSIS}" in note(body)
    assert "9" * 21 not in note(body)


def test_only_a_size_that_is_not_offered_has_a_note(manager_client, history_url):
    assert note(manager_client.get(history_url, {"page_size": "abc"}).content.decode())
    for params in ({}, {"page_size": ""}, {"page_size": "25"}, {"page_size": "1000"}):
        body = manager_client.get(history_url, params).content.decode()
        assert "data-ignored-input" not in body, params


def test_the_page_size_note_reaches_an_htmx_request_too(manager_client, history_url):
    # The rows-per-page select swaps #main through htmx: the note comes with it.
    response = manager_client.get(history_url, {"page_size": "abc"}, **HTMX)
    assert response.status_code == 200
    assert "showing 50" in note(response.content.decode())


# --- the audit's page number: the nearest page, with a note ---------------------------------


@pytest.mark.parametrize(
    ("asked", "expected", "page"),
    [
        ("99999", "Page 99999 does not exist; showing page 3 of 3.", 3),
        ("4", "Page 4 does not exist; showing page 3 of 3.", 3),
        ("0", "Page 0 does not exist; showing page 1 of 3.", 1),
        ("-1", "Page -1 does not exist; showing page 1 of 3.", 1),
        (
            "abc",
            "\N{LEFT DOUBLE QUOTATION MARK}abc\N{RIGHT DOUBLE QUOTATION MARK} is not a page"
            " number; showing page 1 of 3.",
            1,
        ),
        (
            "2.5",
            "\N{LEFT DOUBLE QUOTATION MARK}2.5\N{RIGHT DOUBLE QUOTATION MARK} is not a page"
            " number; showing page 1 of 3.",
            1,
        ),
    ],
)
def test_a_page_that_does_not_exist_shows_the_nearest_and_says_so(
    manager_client, asked, expected, page
):
    made = entries(120)  # three pages of fifty
    newest_first = [e.pk for e in reversed(made)]

    for headers in ({}, HTMX):
        response = manager_client.get(reverse("audit"), {"page": asked}, **headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert note(body) == expected
        assert shown(body) == newest_first[(page - 1) * 50 : page * 50]
        assert f"Page {page} of 3" in body


def test_an_empty_trail_asked_for_a_later_page_says_there_is_only_one(manager_client):
    body = manager_client.get(reverse("audit"), {"page": "2"}).content.decode()
    assert note(body) == "Page 2 does not exist; showing page 1 of 1."


def test_only_a_page_that_does_not_exist_has_a_note(manager_client):
    entries(120)
    assert note(manager_client.get(reverse("audit"), {"page": "4"}).content.decode())
    for asked in ("", "1", "2", "3"):
        body = manager_client.get(reverse("audit"), {"page": asked}).content.decode()
        assert "data-ignored-input" not in body, asked


# --- the audit's date filter: a 400 naming "since" ------------------------------------------


@pytest.mark.parametrize("since", ["notadate", "2025-02-30", "03/01/2025", "2025-03-01T09:00"])
def test_a_since_that_is_not_a_date_is_refused_naming_the_field(manager_client, since):
    entries(3)
    for headers in ({}, HTMX):
        response = manager_client.get(reverse("audit"), {"since": since}, **headers)
        body = response.content.decode()
        assert response.status_code == 400
        assert "These filters cannot be used" in body
        assert "Since: Enter a valid date, as YYYY-MM-DD (UTC)." in body
        assert shown(body) == []  # never the unfiltered list under a filter that failed


def test_since_keeps_the_entries_from_that_day_on_in_utc(manager_client):
    before = entries(2, start=datetime(2025, 2, 28, 23, 58, tzinfo=UTC))
    after = entries(2, start=datetime(2025, 3, 1, 0, 0, tzinfo=UTC))

    response = manager_client.get(reverse("audit"), {"since": "2025-03-01"})

    body = response.content.decode()
    assert response.status_code == 200
    assert sorted(shown(body)) == sorted(e.pk for e in after)
    assert not set(shown(body)) & {e.pk for e in before}
    # The filter comes back filled in, and the export carries it.
    assert re.search(r'name="since" value="2025-03-01"', body)
    export = re.search(r'id="audit-export" href="([^"]+)"', body).group(1)
    assert "since=2025-03-01" in export


# --- the CSV: a 400 in plain text, naming the field -----------------------------------------


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"since": "garbage"}, "Since: Enter a valid date, as YYYY-MM-DD (UTC)."),
        ({"outcome": "great"}, "Outcome: Select a valid choice."),
    ],
)
def test_the_export_refuses_a_bad_filter_in_plain_text(manager_client, filters, named):
    entries(3)
    response = manager_client.get(reverse("audit_export"), filters)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in response
    text = response.content.decode()
    assert text.startswith("Nothing exported.")
    assert named in text
    assert "<" not in text


def test_the_export_takes_since_like_the_page(manager_client):
    entries(2, start=datetime(2025, 2, 27, tzinfo=UTC))
    after = entries(3, start=datetime(2025, 3, 2, tzinfo=UTC))
    response = manager_client.get(reverse("audit_export"), {"since": "2025-03-01"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + len(after)
