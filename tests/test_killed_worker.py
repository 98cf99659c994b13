"""A gunicorn worker killed (SIGKILL) in the middle of a deployment action.

The stack is scripts/soak.py's: gunicorn (2 workers) on a PostgreSQL database of its own
and Redis database 11, against the emulator in a process of its own. The emulator holds
the deployment POST for a few seconds; once the POST is inside it (the fault counts its
hit) and the audit entry is `pending`, the worker serving that request (found from /proc:
the one holding the connection's socket) is killed. Then:

- gunicorn has a new worker and the dashboard keeps serving;
- the POST reached Twilio at most once, whichever way Twilio answered it;
- while the dead worker's lock lives (ACTION_LIFETIME_SECONDS, 2 minutes), the entry is
  taken for in flight: `manage.py reconcile` leaves it, and another promotion is refused
  clearly (409), not deployed a second time;
- once that lifetime has passed, `manage.py reconcile` (the app's recovery, run by cron)
  settles the entry by what Twilio runs: succeeded when the deployment landed, failed
  when it did not.

The two minutes are not waited for: the entry's `created_at` is moved back by the
lifetime in SQL and the lock's key, which Redis would expire by then, is deleted. Those are
the only two clocks the recovery reads (reconcile.in_flight, and the lock's TTL).
"""

from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from tests.test_soak import services_or_skip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import soak  # noqa: E402

from deployments_app.models import ACTION_LIFETIME_SECONDS  # noqa: E402

# Production's stack of its own (gunicorn, PostgreSQL, Redis): run once, in make test's
# PostgreSQL + Redis pass.
pytestmark = pytest.mark.stack

REDIS_URL = "redis://127.0.0.1:6379/11"
HELD_MS = 3000  # how long the emulator holds the deployment POST
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("finds gunicorn's workers and their sockets in /proc")
    services_or_skip(REDIS_URL)
    workdir = tmp_path_factory.mktemp("killed")
    with soak.Stack(
        workdir,
        redis_url=REDIS_URL,
        workers=2,
        threads=4,
        managers=1,
        services=2,
        deployments=5,
        latency_ms=5,
        prefix="killed",
    ) as running:
        yield running


def eventually(check: Callable[[], T], *, seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.05)


def entry(stack: soak.Stack, pk: int) -> tuple[str, str]:
    [(outcome, message)] = stack.query(
        "SELECT outcome, error_message FROM deployments_app_auditentry WHERE id = %s", [pk]
    )
    return outcome, message


@pytest.mark.parametrize("upstream", ["deploys", "fails"])
def test_a_worker_killed_mid_deployment_is_settled_by_reconcile_as_upstream_decided(
    stack, upstream
):
    service = stack.account[0 if upstream == "deploys" else 1]
    dev, stage = service.environments[0], service.environments[1]
    wanted = stack.live_build(service.sid, dev.sid)
    before = stack.live_build(service.sid, stage.sid)
    assert wanted
    assert wanted != before
    cookies = stack.sign_in(soak.USERNAME)
    workers = stack.worker_pids()
    assert len(workers) == 2
    path = f"/Environments/{stage.sid}/Deployments$"
    # Held upstream, then answered for real ("deploys") or with a 503 ("fails").
    status = None if upstream == "deploys" else 503
    stack.fault(method="POST", path=path, status=status, delay_ms=HELD_MS, count=1)

    connection = soak.Connection(stack.base_url, cookies)
    answered: list[object] = []

    def promote() -> None:
        data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
        try:
            answered.append(connection.post_action("promote", data))
        except (http.client.HTTPException, OSError) as exc:
            answered.append(exc)

    caller = threading.Thread(target=promote)
    caller.start()
    try:
        # Inside the call: its entry is pending, and the emulator holds its POST.
        [(pk,)] = eventually(
            lambda: stack.query(
                "SELECT id FROM deployments_app_auditentry "
                "WHERE outcome = 'pending' AND environment_sid = %s",
                [stage.sid],
            ),
            seconds=15,
            what="a pending audit entry",
        )
        eventually(
            lambda: any(f["hits"] for f in faults(stack) if f["path"] == path),
            seconds=10,
            what="the deployment POST inside the emulator",
        )
        worker = stack.worker_of(connection.port)
        assert worker in workers
        os.kill(worker, signal.SIGKILL)
        caller.join(timeout=15)
    finally:
        connection.close()
    # The caller got no answer at all (the connection died with the worker), not a 5xx.
    assert len(answered) == 1
    assert isinstance(answered[0], Exception), answered

    # gunicorn replaced the worker, and the dashboard serves on.
    eventually(
        lambda: len(pids := stack.worker_pids()) == 2 and worker not in pids,
        seconds=20,
        what="gunicorn respawning the killed worker",
    )
    with requests.Session() as session:
        session.cookies.update(cookies)
        assert session.get(f"{stack.base_url}/", timeout=30).status_code == 200
        env_page = f"{stack.base_url}/services/{service.sid}/environments/{stage.sid}/"
        assert session.get(env_page, timeout=30).status_code == 200
    assert requests.get(f"{stack.base_url}/healthz", timeout=30).status_code == 200

    # Twilio answered the POST once (to nobody); it is the upstream truth.
    posts = eventually(
        lambda: [p for p in stack.deployment_posts() if stage.sid in p["path"]],
        seconds=HELD_MS / 1000 + 10,
        what="the emulator answering the held POST",
    )
    assert len(posts) == 1
    landed = bool(soak.deployed_sids(posts))
    assert landed == (upstream == "deploys")
    assert stack.live_build(service.sid, stage.sid) == (wanted if landed else before)

    # The dead worker's lock still lives: the entry is in flight, another attempt refused.
    assert entry(stack, pk)[0] == "pending"
    lock = f"deployments:lock:{stage.sid}"
    assert 0 < stack.redis.ttl(lock) <= ACTION_LIFETIME_SECONDS  # it expires by itself
    again = soak.Connection(stack.base_url, cookies)
    try:
        data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
        refused_status, body = again.post_action("promote", data)
    finally:
        again.close()
    message = soak.action_message(body)
    assert refused_status == 409, body
    assert message
    assert "already in progress" in message[1], body
    stack.dashboard.manage("reconcile")
    assert entry(stack, pk)[0] == "pending"

    # ACTION_LIFETIME_SECONDS later (both clocks moved, not waited for) reconcile settles it.
    stack.query(
        "UPDATE deployments_app_auditentry SET created_at = created_at - make_interval("
        "secs => %s) WHERE id = %s RETURNING id",
        [ACTION_LIFETIME_SECONDS + 1, pk],
    )
    stack.redis.delete(lock)
    report = stack.dashboard.manage("reconcile")
    assert "1 unfinished action(s) settled" in report, report
    outcome, note = entry(stack, pk)
    assert outcome == ("succeeded" if landed else "failed"), (outcome, note)
    assert not stack.query(
        "SELECT id FROM deployments_app_auditentry WHERE outcome IN ('pending', 'unknown')"
    )

    # Nothing was deployed twice; a new promotion does what is left to do.
    with requests.Session() as session:
        session.cookies.update(cookies)
        answer = soak.post_action(
            session,
            stack.base_url,
            "promote",
            {"service": service.sid, "source": dev.sid, "target": stage.sid},
            csrf=cookies["csrftoken"],
        )
    level, text = soak.action_message(answer.text) or ("", answer.text[:300])
    assert answer.status_code == 200, text
    assert level == ("info" if landed else "ok"), text  # already live, or deployed now
    posts = [p for p in stack.deployment_posts() if stage.sid in p["path"]]
    assert len(soak.deployed_sids(posts)) == 1
    assert stack.live_build(service.sid, stage.sid) == wanted


def faults(stack: soak.Stack) -> list[dict[str, object]]:
    answer = requests.get(f"{stack.emu.base_url}/_emulator/faults", timeout=5)
    answer.raise_for_status()
    return list(answer.json()["faults"])
