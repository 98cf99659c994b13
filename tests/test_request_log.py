"""Logs: each record names its request and user; production writes one JSON object per line."""

from __future__ import annotations

import json
import logging

import pytest

from deployments_app.request_log import JsonFormatter
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db


def test_a_log_written_during_a_request_carries_its_id_and_user(
    upstream, client, django_user_model, caplog
):
    client.force_login(django_user_model.objects.create_user("lou", password="pw-lou-logs"))
    service = upstream.store.service("ivr-flows")
    # A failing upstream read logs a warning from the client's pool thread.
    upstream.faults.add(Fault(method="GET", path=rf"/{service.sid}/Environments$", count=None))
    with caplog.at_level(logging.WARNING):
        response = client.get("/", HTTP_X_REQUEST_ID="edge-1234abcd")
    assert response["X-Request-ID"] == "edge-1234abcd"
    warnings = [r for r in caplog.records if r.name.startswith("deployments_app")]
    assert warnings
    assert {(r.request_id, r.user) for r in warnings} == {("edge-1234abcd", "lou")}
    line = json.loads(JsonFormatter().format(warnings[0]))
    assert line["request_id"] == "edge-1234abcd"
    assert line["user"] == "lou"
    assert line["level"] == "WARNING"
    assert "Environments" in line["message"]
    assert upstream.auth_token not in JsonFormatter().format(warnings[0])


def test_a_forged_request_id_is_replaced(upstream, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("lou", password="pw-lou-logs"))
    response = client.get("/audit/", HTTP_X_REQUEST_ID='x" injected')
    assert response["X-Request-ID"] != 'x" injected'
    assert len(response["X-Request-ID"]) == 32
