"""`make run` works only if the dashboard's demo credentials are the emulator's."""

from __future__ import annotations

from django.conf import settings

from serverless_emulator import emulator


def test_dashboard_demo_credentials_match_the_emulator_defaults():
    assert settings.DEMO_ACCOUNT_SID == emulator.DEMO_ACCOUNT_SID
    assert settings.DEMO_AUTH_TOKEN == emulator.DEMO_AUTH_TOKEN
