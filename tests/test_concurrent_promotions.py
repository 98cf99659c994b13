"""20 concurrent promotions to one environment over 2 gunicorn workers on PostgreSQL + Redis.

The stack is scripts/soak.py's: gunicorn (2 workers x 10 threads, so all 20 are served at
once) on a PostgreSQL database of its own and Redis database 12 (the lock and the cache),
against the emulator in a process of its own. The winner's deployment POST is held 2 s
upstream, so the other 19 arrive while its lock is taken. Exactly one POST reaches Twilio;
each of the others gets a clear answer ("already in progress", 409, or "already live",
200) and never a 5xx; each of the 20 has an audit entry whose outcome is that answer's.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.test_soak import services_or_skip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import soak  # noqa: E402

# Production's stack of its own (gunicorn, PostgreSQL, Redis): run once, in make test's
# PostgreSQL + Redis pass.
pytestmark = pytest.mark.stack

REDIS_URL = "redis://127.0.0.1:6379/12"
CALLERS = 20
HELD_MS = 2000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    services_or_skip(REDIS_URL)
    workdir = tmp_path_factory.mktemp("promotions")
    with soak.Stack(
        workdir,
        redis_url=REDIS_URL,
        workers=2,
        threads=10,
        managers=3,
        services=1,
        deployments=5,
        latency_ms=5,
        prefix="promotions",
    ) as running:
        yield running


def test_twenty_concurrent_promotions_make_one_deployment_and_refuse_the_rest_clearly(stack):
    service = stack.account[0]
    dev, stage = service.environments[0], service.environments[1]
    wanted = stack.live_build(service.sid, dev.sid)
    assert wanted
    assert wanted != stack.live_build(service.sid, stage.sid)
    stack.fault(
        method="POST",
        path=f"/Environments/{stage.sid}/Deployments$",
        status=None,
        delay_ms=HELD_MS,
        count=1,
    )
    cookies = [stack.sign_in(name) for name in stack.usernames]
    connections = [
        soak.Connection(stack.base_url, cookies[n % len(cookies)]) for n in range(CALLERS)
    ]
    start = threading.Barrier(CALLERS)
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid, "reason": "race"}

    def promote(connection: soak.Connection) -> tuple[int, str, int | None]:
        start.wait(timeout=30)
        status, body = connection.post_action("promote", data)
        # Asked while the connection is kept alive: which worker answered.
        return status, body, stack.worker_of(connection.port)

    try:
        with ThreadPoolExecutor(CALLERS) as pool:
            answers = list(pool.map(promote, connections))
    finally:
        for connection in connections:
            connection.close()

    statuses = [status for status, _, _ in answers]
    assert all(status < 500 for status in statuses), statuses
    messages = [soak.action_message(body) for _, body, _ in answers]
    assert all(messages), [body[:300] for _, body, _ in answers]
    deployed = [m for s, m in zip(statuses, messages, strict=True) if s == 200 and m[0] == "ok"]
    busy = [
        m
        for s, m in zip(statuses, messages, strict=True)
        if s == 409 and "already in progress" in m[1]
    ]
    live = [
        m
        for s, m in zip(statuses, messages, strict=True)
        if s == 200 and m[0] == "info" and "already live" in m[1]
    ]
    assert len(deployed) == 1, messages
    assert len(busy) + len(live) == CALLERS - 1, messages
    assert len(busy) >= 1  # the lock, not luck, refused them
    # Served by both workers: the lock held across processes, not only threads.
    assert len({worker for _, _, worker in answers if worker}) >= 2, answers

    posts = stack.deployment_posts()
    assert len(posts) == 1, posts
    assert soak.deployed_sids(posts)
    assert stack.live_build(service.sid, stage.sid) == wanted

    rows = stack.query(
        "SELECT outcome, deployment_sid FROM deployments_app_auditentry "
        "WHERE action = 'promote' AND environment_sid = %s",
        [stage.sid],
    )
    assert len(rows) == CALLERS
    outcomes = sorted(outcome for outcome, _ in rows)
    assert outcomes == sorted(["succeeded"] + ["refused"] * len(busy) + ["noop"] * len(live))
    assert [sid for outcome, sid in rows if outcome == "succeeded"] == soak.deployed_sids(posts)
