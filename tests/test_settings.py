"""The settings: read from the environment in one place, every variable listed, and no
start half-configured against the real Twilio."""

from __future__ import annotations

import os
import re
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


def settings_variables() -> set[str]:
    source = (ROOT / "dashboard" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"', source))


def test_every_variable_the_settings_read_is_listed_in_env_example_and_readme():
    variables = settings_variables()
    assert {"TWILIO_RETRY_AFTER_CAP_SECONDS", "TWILIO_PAGE_SIZE_DEFAULT", "REDIS_URL"} <= variables
    example = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Settings") :]
    assert variables == example
    assert [name for name in sorted(variables) if f"`{name}`" not in table] == []


def test_only_the_settings_read_the_environment():
    readers = []
    for path in sorted((ROOT / "deployments_app").rglob("*.py")):
        if re.search(r"os\.environ|os\.getenv", path.read_text()):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("TWILIO_READ_TIMEOUT", "soon", "must be a number"),
        ("TWILIO_MAX_CONCURRENCY", "0", "must be at least 1"),
        ("TWILIO_PAGE_SIZE_DEFAULT", "5000", "must be from 1 to 1000"),
        ("TWILIO_RETRY_AFTER_CAP_SECONDS", "-1", "must be at least 0"),
    ],
)
def test_a_bad_number_stops_the_start_with_one_line(variable, value, complaint):
    result = run_check({"TWILIO_SERVERLESS_BASE_URL": "http://127.0.0.1:8787", variable: value})
    assert result.returncode != 0
    assert f"{variable} {complaint}" in result.stderr
    assert "Traceback" not in result.stderr
