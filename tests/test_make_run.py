"""`make run` as a new user runs it: the script starts the emulator and the dashboard."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_demo_serves_the_seeded_dashboard_and_stops_on_sigterm(tmp_path):
    dashboard, emulator = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_"))},
        "EMULATOR_PORT": str(emulator),
        "DASHBOARD_PORT": str(dashboard),
        "EMULATOR_STATE": str(tmp_path / "emulator.json"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    process = subprocess.Popen(
        ["bash", "scripts/run-demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("the dashboard did not answer within 90 s")
        session = requests.Session()
        session.get(f"{base}/accounts/login/", timeout=5)
        page = session.post(
            f"{base}/accounts/login/",
            data={
                "username": "release",
                "password": "demo-release",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=30,
        )
        assert page.status_code == 200
        assert "What is live where" in page.text
        assert "ivr-flows" in page.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "As release: promoted ivr-flows dev to stage (succeeded)" in output
    assert "Stopping the dashboard and the emulator" in output
    assert not re.search(r"Traceback", output)
