"""A failed action's audit entry: code and sentence for everyone, the detail for admins only."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from deployments_app.models import AuditEntry
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# What must never reach a viewer: the upstream's address, a transport error, an API path.
INTERNAL = ("http://", "127.0.0.1", "ConnectionPool", "/v1/")


@pytest.fixture
def admin_client(django_user_model) -> Client:
    browser = Client()
    browser.force_login(django_user_model.objects.create_superuser("sam", password="pw-sam-1"))
    return browser


def promote(upstream, client: Client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    return client.post("/actions/promote/", data, **HTMX)


def error_cells(client: Client) -> list[str]:
    """The audit page's error column, as text (the rest of the row shows the client IP)."""
    body = client.get(reverse("audit")).content.decode()
    cells = re.findall(r'(?s)<td class="audit__error[^"]*"[^>]*>(.*?)</td>', body)
    return [html.unescape(re.sub(r"<[^>]+>", " ", cell)) for cell in cells]


def csv_errors(client: Client) -> list[dict[str, str]]:
    body = b"".join(client.get(reverse("audit_export")).streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_an_unreachable_upstream_shows_its_sentence_and_hides_the_address(
    upstream, manager_client, admin_client, settings
):
    settings.TWILIO_MAX_ATTEMPTS = 1
    upstream.stop()  # connection refused from here on

    response = promote(upstream, manager_client)

    assert response.status_code == 502
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.error_kind) == ("failed", "upstream_unavailable")
    assert "127.0.0.1" in entry.error_detail  # kept, for administrators
    [shown] = error_cells(manager_client)
    assert "Twilio did not answer properly" in shown
    assert "upstream_unavailable" in shown
    assert not [text for text in INTERNAL if text in shown]
    assert "Technical detail" not in shown
    [for_admin] = error_cells(admin_client)
    assert "Technical detail" in for_admin
    assert "127.0.0.1" in for_admin


def test_a_twilio_error_on_the_post_shows_its_code_to_everyone(
    upstream, manager_client, admin_client
):
    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=503, count=None))

    assert promote(upstream, manager_client).status_code == 502

    entry = AuditEntry.objects.get()
    assert entry.error_code is not None
    [shown] = error_cells(manager_client)
    assert str(entry.error_code) in shown
    assert "Nothing changed; you can try again." in shown
    assert not [text for text in INTERNAL if text in shown]
    [for_admin] = error_cells(admin_client)
    assert "POST /v1/Services/" in for_admin  # the detail: which call, and Twilio's words


def test_the_csv_carries_the_detail_for_administrators_only(
    upstream, manager_client, admin_client, settings
):
    settings.TWILIO_MAX_ATTEMPTS = 1
    upstream.stop()
    promote(upstream, manager_client)

    [row] = csv_errors(manager_client)
    assert "Error detail" not in row
    assert row["Error kind"] == "upstream_unavailable"
    shown = " ".join(row[column] for column in ("Twilio error code", "Error kind", "Error message"))
    assert not [text for text in INTERNAL if text in shown]
    [admin_row] = csv_errors(admin_client)
    assert "127.0.0.1" in admin_row["Error detail"]


def test_no_credential_reaches_the_detail(upstream, manager_client, settings):
    settings.TWILIO_MAX_ATTEMPTS = 1
    upstream.stop()
    promote(upstream, manager_client)

    entry = AuditEntry.objects.get()
    for secret in (settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID + ":"):
        assert secret not in entry.error_detail
        assert secret not in entry.error_message
