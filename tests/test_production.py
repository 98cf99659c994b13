"""Production settings pass Django's deploy checks; /healthz answers without a login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import DatabaseError

from serverless_emulator import Fault

ROOT = Path(__file__).resolve().parents[1]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_"))},
        "TWILIO_SERVERLESS_BASE_URL": "https://serverless.twilio.com",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "not-a-real-token",
        "DJANGO_SECRET_KEY": "k3y-" + "x9Q!z" * 12,
        "DJANGO_ALLOWED_HOSTS": "dash.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_healthz_needs_no_login_and_names_each_check(upstream, client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "upstream": "ok"},
    }
    assert settings.TWILIO_AUTH_TOKEN not in response.content.decode()


@pytest.mark.django_db
def test_healthz_says_degraded_when_twilio_is_down_and_probes_it_seldom(upstream, client, settings):
    upstream.faults.add(Fault(method="GET", path=r"^/v1/Services$", status=401, count=None))
    cache.clear()
    response = client.get("/healthz")
    assert response.status_code == 200  # still serving our records and clear messages
    body = json.loads(response.content)
    assert body["status"] == "degraded"
    assert body["checks"]["upstream"].startswith("unreachable (")
    assert settings.TWILIO_AUTH_TOKEN not in response.content.decode()
    upstream.requests.clear()
    for _ in range(5):
        client.get("/healthz")
    assert len(upstream.requests) == 0  # Twilio's answer is kept a few seconds


@pytest.mark.django_db
def test_healthz_fails_when_the_database_does_not_answer(upstream, client, monkeypatch):
    from deployments_app.services import health

    class Broken:
        def __enter__(self):
            raise DatabaseError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable (DatabaseError)"


@pytest.mark.django_db
def test_an_active_session_is_renewed_and_an_idle_one_ends(client, django_user_model, settings):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    settings.SESSION_COOKIE_AGE = 3600
    django_user_model.objects.create_user("ida", password="pw-ida-idle")
    client.post("/accounts/login/", {"username": "ida", "password": "pw-ida-idle"})
    session = Session.objects.get()
    # An hour without a request: the session is over, the next page asks to sign in.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(1))
    assert client.get("/audit/").status_code == 302
    # Signed in again, a request six minutes on renews it for another full hour.
    client.post("/accounts/login/", {"username": "ida", "password": "pw-ida-idle"})
    session = Session.objects.get(session_key=client.cookies["sessionid"].value)
    data = session.get_decoded()
    data["_idle_renewed_at"] = int(timezone.now().timestamp()) - 360
    Session.objects.filter(pk=session.pk).update(
        session_data=Session.objects.encode(data),
        expire_date=timezone.now() + timedelta(seconds=600),
    )
    assert client.get("/audit/").status_code == 200
    renewed = Session.objects.get(pk=session.pk).expire_date
    assert renewed > timezone.now() + timedelta(seconds=3500)


@pytest.mark.django_db
def test_every_kind_of_page_carries_the_security_headers(upstream, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("sam", password="pw-sam-h"))
    for url in ["/accounts/login/", "/", "/audit/", "/approvals/", "/healthz", "/admin/"]:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy, url
        assert "'unsafe-inline'" not in policy, url
        assert "'unsafe-eval'" not in policy, url
        assert response["Permissions-Policy"].startswith("camera=()"), url
        assert response["X-Frame-Options"] == "DENY", url
