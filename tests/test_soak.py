"""`make soak`, short: 15 s of mixed reads and actions on gunicorn + PostgreSQL + Redis.

It runs as a subprocess, as `make soak` does, with its own PostgreSQL database (dropped
afterwards), its own Redis database (10, emptied) and its own emulator and gunicorn; the
script's own checks (no 5xx, the audit matching the upstream's deployments exactly,
nothing pending) decide its exit status. Without PostgreSQL or Redis the test is skipped
and says why; under CI=true that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.test_bench import left_behind, own_tmpdir

ROOT = Path(__file__).resolve().parents[1]
SOAK = str(ROOT / "scripts" / "soak.py")
sys.path.insert(0, str(ROOT / "scripts"))

import soak  # noqa: E402

# Production's stack of its own (gunicorn, PostgreSQL, Redis): run once, in make test's
# PostgreSQL + Redis pass.
pytestmark = pytest.mark.stack

REDIS_URL = "redis://127.0.0.1:6379/10"
KINDS = ("overview", "environment", "load more", "build", "audit", "promote", "redeploy")


def services_or_skip(redis_url: str) -> None:
    """PostgreSQL and Redis answer, or the test is skipped (failed under CI=true)."""
    why = soak.services_unreachable(soak.POSTGRES_URL, redis_url)
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs this on PostgreSQL + Redis, but {why}")
    pytest.skip(f"{why}: this needs production's stack (under CI=true this fails)")


def test_a_short_soak_has_no_5xx_and_an_audit_matching_the_upstream(tmp_path):
    services_or_skip(REDIS_URL)
    out = tmp_path / "soak.json"
    env, marker = own_tmpdir(tmp_path)
    run = subprocess.Popen(
        [
            sys.executable,
            SOAK,
            "--duration",
            "15",
            "--redis",
            REDIS_URL,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=150)
    finally:
        if run.poll() is None:
            run.terminate()  # SIGTERM: the soak stops its servers and drops its database
            run.communicate(timeout=30)
    assert run.returncode == 0, f"stdout:\n{stdout}\nstderr:\n{stderr}"
    assert left_behind(marker) == []

    results = json.loads(out.read_text())
    assert not results["summary"]["errors"]
    assert results["checks"]
    assert all(check["passed"] for check in results["checks"])
    figures = results["scenarios"]["soak"]
    assert figures["requests"] > 0
    assert figures["requests_per_second"] > 0
    assert figures["errors_5xx"] == 0
    for kind in KINDS:
        for figure in ("requests", "p50_ms", "p95_ms", "p99_ms"):
            assert figures["kinds"][kind][figure] >= 0, (kind, figure)
    # Deployments happened, and each is one succeeded audit entry; none is left open.
    assert figures["upstream_deployments"] >= 1
    assert figures["audit_succeeded"] == figures["upstream_deployments"]
    assert "pending" not in figures["audit_by_outcome"]
    assert figures["audit_actions"] == figures["actions_sent"]
    for printed in ("requests/s", "p95", "5xx answers", "audit entries succeeded"):
        assert printed in stdout

    # The run's database is gone again.
    with psycopg.connect(soak.POSTGRES_URL, dbname="postgres", connect_timeout=3) as c:
        found = c.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [figures["database"]]
        ).fetchall()
    assert found == []
