"""The pages' cache shared in Redis: a deployment from another process shows at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.fixtures.redis import redis_cache_settings, redis_or_skip

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_cache(settings):
    """The pages' cache in Redis (database 14, emptied), or a skip without Redis (not in CI)."""
    client = redis_or_skip(REDIS_URL, purpose="Redis cache")
    client.flushdb()
    settings.CACHES = redis_cache_settings(REDIS_URL)
    yield client
    client.flushdb()
    client.close()


def other_process(emulator, *args: str) -> subprocess.CompletedProcess[str]:
    """manage.py in a process of its own, on the same database, Redis and emulator."""
    database = django_settings.DATABASES["default"]
    assert database["ENGINE"].endswith("sqlite3"), "this test shares the SQLite test file"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_"))},
        "DATABASE_URL": f"sqlite:///{database['NAME']}",
        "REDIS_URL": REDIS_URL,
        "TWILIO_SERVERLESS_BASE_URL": emulator.base_url,
        "TWILIO_ACCOUNT_SID": emulator.account_sid,
        "TWILIO_AUTH_TOKEN": emulator.auth_token,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    # The CLI it starts must see this test's database: SQLite's file can be shared, the
    # PostgreSQL test database is this process's own. make test's first pass runs it.
    reason="runs in the SQLite pass: its CLI process must share the test database",
)
@pytest.mark.django_db(transaction=True)
def test_a_promotion_from_another_process_shows_at_once(upstream, redis_cache, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    env_url = f"/services/{service.sid}/environments/{stage.sid}/"
    before = manager_client.get(env_url).content.decode()
    assert redis_cache.dbsize() > 0  # the page's reads are in Redis now
    upstream.requests.clear()
    assert stage.build_sid in manager_client.get(env_url).content.decode()
    assert not [r for r in upstream.requests.snapshot() if r.method == "GET"]  # warm

    result = other_process(upstream, "promote", "ivr-flows", "dev", "stage", "--as", "rita")
    assert result.returncode == 0, result.stderr
    new = upstream.store.deployments(stage.sid)[0]
    assert new.build_sid == dev.build_sid

    after = manager_client.get(env_url).content.decode()
    assert new.sid in after
    assert new.sid not in before
    live = after.split('id="live-title"', 1)[1].split("</section>", 1)[0]
    assert dev.build_sid in live
