"""The per-environment lock (services/locks.py): a database row, or a Redis key.

One holder per environment at a time, across threads and processes; a lock left by a
dead worker expires; the lock is released whatever happens to the action, and only by
its holder. The Redis tests need a Redis at 127.0.0.1:6379 (database 15): they are
skipped without one, except in CI, where they fail instead.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, EnvironmentLock
from deployments_app.services.deployments import (
    ActionFailed,
    ActionOutcome,
    ActionRefused,
    deployment_promote,
    deployment_redeploy,
)
from deployments_app.services.locks import LOCK_SECONDS, LockBusy, environment_lock
from deployments_app.services.serverless import ServerlessClient, get_client
from serverless_emulator import Fault
from tests.fixtures.redis import redis_cache_settings, redis_or_skip

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
REDIS_URL = "redis://127.0.0.1:6379/15"
ENV_A = "ZE" + "a" * 32
ENV_B = "ZE" + "b" * 32


def make_manager(django_user_model):
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user("rita")
    user.groups.add(Group.objects.get(name=roles.RELEASE_MANAGER))
    return user


@pytest.fixture
def manager(django_user_model):
    return make_manager(django_user_model)


@pytest.fixture(autouse=True)
def database_lock(settings):
    """The database lock unless a test asks for `redis_lock` (which sets REDIS_URL again):
    make test's second pass sets REDIS_URL for everything else."""
    settings.REDIS_URL = ""


def env(upstream, service: str, name: str):
    return upstream.store.environment_named(service, name)


def deployment_posts(upstream) -> list:
    stats = get_client().stats
    expected = stats.requests_sent - stats.timeouts
    deadline = time.monotonic() + 3
    while len(upstream.requests) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return [r for r in upstream.requests if r.method == "POST"]


def promote_dev_to_stage(upstream, actor, service: str = "ivr-flows"):
    dev, stage = env(upstream, service, "dev"), env(upstream, service, "stage")
    return deployment_promote(
        actor=actor,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )


@pytest.fixture
def redis_lock(settings):
    """The Redis lock (REDIS_URL and a RedisCache on database 15), or a skip without Redis."""
    client = redis_or_skip(REDIS_URL, purpose="Redis lock")
    settings.REDIS_URL = REDIS_URL
    settings.CACHES = redis_cache_settings(REDIS_URL)
    yield client
    client.close()


def redis_key(environment_sid: str) -> str:
    return f"deployments:lock:{environment_sid}"


# --- the database row ------------------------------------------------------------------------


def test_a_held_lock_refuses_a_second_holder_of_the_same_environment_only():
    with environment_lock(environment_sid=ENV_A, holder="rita") as token:
        row = EnvironmentLock.objects.get()
        assert (row.environment_sid, row.token, row.holder) == (ENV_A, token, "rita")
        expected_expiry = row.acquired_at + timedelta(seconds=LOCK_SECONDS)
        assert row.expires_at == expected_expiry
        with pytest.raises(LockBusy), environment_lock(environment_sid=ENV_A):
            pass
        with environment_lock(environment_sid=ENV_B):
            assert EnvironmentLock.objects.count() == 2
    assert not EnvironmentLock.objects.exists()


def test_the_lock_is_released_when_the_block_raises():
    with pytest.raises(RuntimeError), environment_lock(environment_sid=ENV_A):
        raise RuntimeError("the action failed")
    assert not EnvironmentLock.objects.exists()
    with environment_lock(environment_sid=ENV_A):
        pass


def test_an_expired_lock_is_taken_over():
    EnvironmentLock.objects.create(
        environment_sid=ENV_A,
        token="dead-worker",
        holder="gone",
        acquired_at=timezone.now() - timedelta(seconds=LOCK_SECONDS + 10),
        expires_at=timezone.now() - timedelta(seconds=10),
    )
    with environment_lock(environment_sid=ENV_A, holder="rita") as token:
        assert EnvironmentLock.objects.get().token == token
    assert not EnvironmentLock.objects.exists()


def test_only_the_holder_releases_the_lock():
    with ExitStack() as stack:
        stack.enter_context(environment_lock(environment_sid=ENV_A, holder="slow"))
        # The slow holder's lock expires and another takes the environment over...
        EnvironmentLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        later = environment_lock(environment_sid=ENV_A, holder="next")
        token = later.__enter__()
        # ...so when the slow holder finishes, the new holder's lock stays.
    assert EnvironmentLock.objects.get().token == token
    later.__exit__(None, None, None)
    assert not EnvironmentLock.objects.exists()


# --- the lock around actions -----------------------------------------------------------------


def test_an_action_to_a_locked_environment_is_refused_without_a_post(upstream, manager):
    stage = env(upstream, "ivr-flows", "stage")
    with (
        environment_lock(environment_sid=stage.sid, holder="someone-else"),
        pytest.raises(ActionRefused) as caught,
    ):
        promote_dev_to_stage(upstream, manager)
    assert caught.value.status == 409
    assert caught.value.message == (
        "A deployment to stage is already in progress; try again when it has finished."
    )
    assert caught.value.entry.outcome == Outcome.REFUSED
    assert deployment_posts(upstream) == []
    assert env(upstream, "ivr-flows", "stage").build_sid == stage.build_sid


def test_an_action_takes_over_a_lock_left_by_a_dead_worker(upstream, manager):
    stage = env(upstream, "ivr-flows", "stage")
    EnvironmentLock.objects.create(
        environment_sid=stage.sid,
        token="dead-worker",
        holder="gone",
        acquired_at=timezone.now() - timedelta(seconds=LOCK_SECONDS + 10),
        expires_at=timezone.now() - timedelta(seconds=10),
    )

    outcome = promote_dev_to_stage(upstream, manager)

    assert outcome.entry.outcome == Outcome.SUCCEEDED
    assert len(deployment_posts(upstream)) == 1
    assert not EnvironmentLock.objects.exists()


def test_the_lock_is_released_after_a_failure_a_refusal_and_a_crash(upstream, manager, monkeypatch):
    stage = env(upstream, "ivr-flows", "stage")

    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=503, count=1))
    with pytest.raises(ActionFailed):
        promote_dev_to_stage(upstream, manager)
    assert not EnvironmentLock.objects.exists()

    building = upstream.store.builds("ivr-flows")[0]
    with pytest.raises(ActionRefused, match="not completed"):
        deployment_redeploy(
            actor=manager,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            build_sid=building.sid,
        )
    assert not EnvironmentLock.objects.exists()

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    with monkeypatch.context() as patch:
        patch.setattr(ServerlessClient, "deployment_create", crash)
        with pytest.raises(RuntimeError):
            promote_dev_to_stage(upstream, manager)
    assert not EnvironmentLock.objects.exists()

    # Nothing left behind: the next attempt goes through.
    assert promote_dev_to_stage(upstream, manager).entry.outcome == Outcome.SUCCEEDED
    assert [p.status for p in deployment_posts(upstream)] == [503, 201]
    outcomes = list(AuditEntry.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [Outcome.FAILED, Outcome.REFUSED, Outcome.UNKNOWN, Outcome.SUCCEEDED]


# --- the Redis key ---------------------------------------------------------------------------


def test_the_redis_lock_is_a_key_with_an_expiry_and_no_row(redis_lock):
    redis_lock.delete(redis_key(ENV_A))
    with environment_lock(environment_sid=ENV_A, holder="rita") as token:
        assert redis_lock.get(redis_key(ENV_A)) == token.encode()
        assert 0 < redis_lock.ttl(redis_key(ENV_A)) <= LOCK_SECONDS
        assert not EnvironmentLock.objects.exists()
        with pytest.raises(LockBusy), environment_lock(environment_sid=ENV_A):
            pass
        with environment_lock(environment_sid=ENV_B):
            pass
    assert redis_lock.get(redis_key(ENV_A)) is None


def test_an_expired_redis_lock_is_taken_over_and_only_its_holder_releases_it(redis_lock):
    redis_lock.delete(redis_key(ENV_A))
    with ExitStack() as stack:
        stack.enter_context(environment_lock(environment_sid=ENV_A, seconds=1))
        time.sleep(1.2)
        later = environment_lock(environment_sid=ENV_A)
        token = later.__enter__()
    assert redis_lock.get(redis_key(ENV_A)) == token.encode()
    later.__exit__(None, None, None)
    assert redis_lock.get(redis_key(ENV_A)) is None


def test_an_action_is_refused_while_another_holds_the_redis_lock(upstream, redis_lock, manager):
    stage = env(upstream, "ivr-flows", "stage")
    redis_lock.set(redis_key(stage.sid), "another-worker", ex=LOCK_SECONDS)
    try:
        with pytest.raises(ActionRefused) as caught:
            promote_dev_to_stage(upstream, manager)
    finally:
        redis_lock.delete(redis_key(stage.sid))
    assert caught.value.status == 409
    assert "already in progress" in caught.value.message
    assert deployment_posts(upstream) == []


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_promotions_deploy_once_with_the_redis_lock(
    upstream, redis_lock, django_user_model
):
    user = make_manager(django_user_model)
    stage = env(upstream, "ivr-flows", "stage")
    redis_lock.delete(redis_key(stage.sid))
    before = len(upstream.store.deployments(stage.sid))
    upstream.faults.latency_ms = 300
    start = threading.Barrier(10)
    results: list[object] = []

    def promote() -> None:
        try:
            start.wait()
            results.append(promote_dev_to_stage(upstream, user))
        except Exception as exc:  # collected and checked below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=promote) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    done = [r for r in results if isinstance(r, ActionOutcome)]
    refusals = [r for r in results if isinstance(r, ActionRefused)]
    assert (len(done), len(refusals)) == (1, 9), results
    assert all(r.status == 409 and "already in progress" in r.message for r in refusals)
    assert len(deployment_posts(upstream)) == 1
    assert len(upstream.store.deployments(stage.sid)) == before + 1
    assert not EnvironmentLock.objects.exists()
    assert redis_lock.get(redis_key(stage.sid)) is None


def test_actions_use_the_redis_lock_when_redis_url_is_set(
    upstream, redis_lock, manager, monkeypatch
):
    stage = env(upstream, "ivr-flows", "stage")
    seen: list[bytes | None] = []
    real_create = ServerlessClient.deployment_create

    def create_and_look(self, **kwargs):
        seen.append(redis_lock.get(redis_key(stage.sid)))
        assert not EnvironmentLock.objects.exists()
        return real_create(self, **kwargs)

    monkeypatch.setattr(ServerlessClient, "deployment_create", create_and_look)
    outcome = promote_dev_to_stage(upstream, manager)

    assert outcome.entry.outcome == Outcome.SUCCEEDED
    assert len(seen) == 1
    assert seen[0] is not None
    assert redis_lock.get(redis_key(stage.sid)) is None
