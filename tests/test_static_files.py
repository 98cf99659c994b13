"""Static files in production: hashed names, compressed, and kept by browsers for good."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in production settings (not demo mode): collected files only, no finders.
PROBE = """
import django
django.setup()
from django.templatetags.static import static
from django.test import Client
url = static("css/app.css")
client = Client()
plain = client.get(url, secure=True)  # production redirects plain HTTP
gzipped = client.get(url, secure=True, HTTP_ACCEPT_ENCODING="gzip")
print(url)
print(plain.status_code, plain.headers.get("Cache-Control"))
print(gzipped.headers.get("Content-Encoding"))
"""


def test_collected_static_files_are_hashed_compressed_and_cached_for_good(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "TWILIO_SERVERLESS_BASE_URL": "https://serverless.twilio.com",  # never called here
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "not-a-real-token",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], **run)
    assert collected.returncode == 0, collected.stderr
    probe = subprocess.run([sys.executable, "-c", PROBE], **run)
    assert probe.returncode == 0, probe.stderr
    url, answer, encoding = probe.stdout.strip().splitlines()
    assert url.startswith("/static/css/app.")
    assert url.endswith(".css")
    assert url != "/static/css/app.css"
    status, cache_control = answer.split(" ", 1)
    assert status == "200"
    assert "immutable" in cache_control
    assert "max-age=315360000" in cache_control
    assert encoding in {"gzip", "br"}
