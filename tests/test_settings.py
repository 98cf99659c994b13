"""The settings refuse to start half-configured against the real Twilio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "TWILIO_SERVERLESS_BASE_URL": "https://serverless.twilio.com",
    "DJANGO_DEBUG": "false",
}


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        ({}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "x" * 50}, "TWILIO_ACCOUNT_SID"),
        (
            {"DJANGO_SECRET_KEY": "x" * 50, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
            "TWILIO_AUTH_TOKEN",
        ),
    ],
)
def test_production_settings_refuse_to_start_when_incomplete(extra, missing):
    result = run_check({**PRODUCTION, **extra})
    assert result.returncode != 0
    assert "Production settings are incomplete" in result.stderr
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_start_with_api_key_credentials():
    secret = "api-secret-that-must-not-leak"
    result = run_check(
        {
            **PRODUCTION,
            "DJANGO_SECRET_KEY": "x" * 50,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_API_KEY": "SK" + "2" * 32,
            "TWILIO_API_SECRET": secret,
        }
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr


def test_demo_mode_needs_no_configuration():
    result = run_check({"TWILIO_SERVERLESS_BASE_URL": "http://127.0.0.1:8787"})
    assert result.returncode == 0, result.stderr
