"""Root fixtures. The Django settings are chosen here, before pytest-django sets Django up.

Tests run in demo mode: the dashboard talks to an emulator on loopback. Each test that
needs upstream data starts its own emulator (tests/fixtures/emulator.py) and points the
settings at it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# A loopback placeholder: nothing listens there, so a test that forgets to start an
# emulator fails loudly instead of reaching out to the real Twilio.
os.environ.setdefault("TWILIO_SERVERLESS_BASE_URL", "http://127.0.0.1:9")

pytest_plugins = ["tests.fixtures.emulator"]
