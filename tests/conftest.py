"""Root fixtures. The Django settings are chosen here, before pytest-django sets Django up.

Tests run in demo mode: the dashboard talks to an emulator on loopback. Each test that
needs upstream data starts its own emulator (tests/fixtures/emulator.py) and points the
settings at it.
"""

from __future__ import annotations

import os
from pathlib import Path

import django
import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest
from django.test import Client

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# A loopback placeholder: nothing listens there, so a test that forgets to start an
# emulator fails loudly instead of reaching out to the real Twilio.
os.environ.setdefault("TWILIO_SERVERLESS_BASE_URL", "http://127.0.0.1:9")

# pytest-django sets Django up before conftest files when the settings module is in its
# ini; chosen here, it is set up now, so that test modules may import models.
django.setup()

# The SQLite test database is a file under var/ (see DATABASES in dashboard/settings.py).
(Path(__file__).resolve().parents[1] / "var").mkdir(exist_ok=True)

# With DATABASE_URL (the PostgreSQL pass of `make test`) the tests run on that server. Its
# test database is one per process too, like SQLite's file: pytest-django drops an existing
# test_<name> first, which would pull it from under another run on the same server.
_database = django_settings.DATABASES["default"]
_test = _database.setdefault("TEST", {})
if _database["ENGINE"] != "django.db.backends.sqlite3" and not _test.get("NAME"):
    _test["NAME"] = f"test_{_database['NAME']}_{os.getpid()}"

# Under pytest-xdist with REDIS_URL set (make test's PostgreSQL + Redis pass), each worker
# takes its own Redis database, counted up from the one given: one worker's cache.clear()
# or environment lock never reaches another's.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if django_settings.REDIS_URL and _worker.startswith("gw"):
    _base, _, _db = django_settings.REDIS_URL.rpartition("/")
    _own = f"{_base}/{int(_db or 0) + int(_worker[2:])}"
    django_settings.REDIS_URL = _own
    django_settings.CACHES["default"]["LOCATION"] = _own

pytest_plugins = ["tests.fixtures.emulator"]


@pytest.fixture
def upstream(emulator, settings):
    """The dashboard pointed at a fresh, seeded emulator (with an empty cache)."""
    from django.core.cache import cache

    from deployments_app.services.serverless import reset_client

    settings.TWILIO_SERVERLESS_BASE_URL = emulator.base_url
    settings.TWILIO_ACCOUNT_SID = emulator.account_sid
    settings.TWILIO_AUTH_TOKEN = emulator.auth_token
    cache.clear()
    reset_client()
    yield emulator
    reset_client()
    cache.clear()


class _Client(Client):
    """The test client, whose login() hands authenticate() a request as django-axes needs.

    (force_login() needs none: it checks no password.)
    """

    def login(self, **credentials: object) -> bool:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        credentials.setdefault("request", request)
        return super().login(**credentials)


@pytest.fixture
def client() -> Client:
    return _Client()
