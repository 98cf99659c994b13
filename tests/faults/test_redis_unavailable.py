"""Redis unavailable with REDIS_URL set (issue 10, "Faults survived").

Redis holds two things then: the pages' cache (a RedisCache) and the per-environment
deployment lock (services/locks.py). The test's own redis-server is killed and started
again on the same port, as a real outage would go. The lock fails closed: no deployment
reaches Twilio without it, the user is told so, and the refusal is audited.
"""

from __future__ import annotations

import threading
import time

import pytest

from deployments_app.models import AuditEntry, EnvironmentLock
from serverless_emulator import Fault
from tests.faults.conftest import (
    DEPLOYMENTS,
    assert_clear,
    deployment_posts,
    entries,
)

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
LOCK_DOWN = "The deployment lock (Redis) cannot be reached, so nothing was deployed"


def test_a_promotion_without_its_lock_is_refused_audited_and_sent_nowhere(
    with_redis, twilio, promotion, manager_client
):
    before = promotion.deployments()
    with_redis.stop()

    assert_clear(promotion.post(manager_client), status=502, says=LOCK_DOWN)
    assert deployment_posts(twilio) == [], "no deployment without the lock"
    assert promotion.deployments() == before
    (entry,) = entries()
    assert (entry.outcome, entry.error_kind) == (Outcome.FAILED, "lock_unavailable")
    assert entry.error_message.startswith(LOCK_DOWN)
    assert not EnvironmentLock.objects.exists(), "no fallback to the database lock"

    with_redis.start()  # the same address: the app reconnects by itself
    assert_clear(promotion.post(manager_client), status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert len(deployment_posts(twilio)) == 1
    assert [e.outcome for e in entries()] == [Outcome.FAILED, Outcome.SUCCEEDED]


def test_pages_keep_working_while_the_cache_is_down_and_after(
    with_redis, promotion, manager_client
):
    # The pages' cache is only for speed (services/soft_cache.py): without it they read
    # Twilio directly.
    with_redis.stop()
    for url in ["/", promotion.page]:
        assert manager_client.get(url).status_code == 200, url
    with_redis.start()
    for url in ["/", promotion.page]:
        assert manager_client.get(url).status_code == 200, url


def test_pages_read_twilio_directly_while_the_cache_is_down(with_redis, promotion, manager_client):
    with_redis.stop()
    response = manager_client.get(promotion.page)
    assert response.status_code == 200
    assert promotion.live() in response.content.decode()


def test_redis_dying_during_the_post_leaves_the_true_outcome_and_no_stuck_lock(
    with_redis, twilio, promotion, manager_client
):
    """The lock was taken, then Redis went away while Twilio was deploying."""
    before = promotion.deployments()
    slow = twilio.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=300))

    def kill_redis_once_the_post_arrives() -> None:
        deadline = time.monotonic() + 5
        while not slow.hits and time.monotonic() < deadline:
            time.sleep(0.01)
        with_redis.stop()

    killer = threading.Thread(target=kill_redis_once_the_post_arrives)
    killer.start()
    response = promotion.post(manager_client)
    killer.join()

    assert_clear(response, status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert [e.outcome for e in entries()] == [Outcome.SUCCEEDED]

    # Back, without the key (it lived in the dead server's memory, or expires on its
    # own): the environment is not locked out.
    with_redis.start()
    redeploy = {
        "service": promotion.service.sid,
        "environment": promotion.stage,
        "build": twilio.store.deployments(promotion.stage)[1].build_sid,
        "reason": "fault test: back to what ran before",
    }
    again = manager_client.post("/actions/redeploy/", redeploy, HTTP_HX_REQUEST="true")
    assert_clear(again, status=200, says="Rolled back to")
    assert len(deployment_posts(twilio)) == 2
