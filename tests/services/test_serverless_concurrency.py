"""Many reads at once: a bounded pool, at most `max_concurrency` requests in flight per
client whichever thread sends them, so N independent reads cost ceil(N/10) round trips."""

from __future__ import annotations

import threading
import time

import pytest

from deployments_app.services.serverless import ClientConfig, ServerlessClient
from deployments_app.services.serverless_errors import NotFound
from serverless_emulator import Fault
from tests.spec import validate_request

LATENCY_MS = 250


@pytest.fixture
def limited(emulator_factory):
    """An emulator that answers 429 beyond 10 concurrent requests, each taking 250 ms."""
    emu = emulator_factory(seed="demo", max_concurrency=10)
    emu.faults.latency_ms = LATENCY_MS
    yield emu
    for recorded in emu.requests:
        validate_request(recorded)


@pytest.fixture
def make(limited):
    made: list[ServerlessClient] = []

    def make(**changes) -> ServerlessClient:
        config = ClientConfig(
            base_url=limited.base_url,
            account_sid=limited.account_sid,
            auth_token=limited.auth_token,
            read_timeout=5.0,
            max_attempts=1,  # a 429 from the limit must show, not be retried away
            **changes,
        )
        client = ServerlessClient(config)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_n_reads_cost_ceil_n_over_10_round_trips(make, limited):
    api = make()
    services = [s.sid for s in limited.store.services()]
    work = (services * 6)[:25]
    started = time.monotonic()
    results = api.read_many(lambda sid: api.environment_list(service_sid=sid), work)
    elapsed = time.monotonic() - started
    assert [len(envs) for envs in results] == [3] * 25
    assert 3 * LATENCY_MS / 1000 <= elapsed < 4 * LATENCY_MS / 1000 + 0.3
    assert {r.status for r in limited.requests} == {200}  # never over the limit


def test_environments_of_many_services_in_one_round_trip(make, limited):
    api = make()
    services = [s.sid for s in limited.store.services()]
    assert 1 < len(services) <= 10
    started = time.monotonic()
    lists = api.read_many(lambda sid: api.environment_list(service_sid=sid), services)
    assert time.monotonic() - started < 2 * LATENCY_MS / 1000
    assert [{e.service_sid for e in envs} for envs in lists] == [{sid} for sid in services]


def test_requests_from_many_threads_share_the_bound(make, limited):
    api = make()
    service = limited.store.services()[0].sid
    failures: list[BaseException] = []

    def read() -> None:
        try:
            api.environment_list(service_sid=service)
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=read) for _ in range(30)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert time.monotonic() - started >= 3 * LATENCY_MS / 1000
    assert {r.status for r in limited.requests} == {200}


def test_the_bound_is_configurable(make, limited):
    limited.throttle.max_concurrency = 3
    api = make(max_concurrency=3)
    service = limited.store.services()[0].sid
    started = time.monotonic()
    api.read_many(lambda _: api.environment_list(service_sid=service), range(7))
    assert time.monotonic() - started >= 3 * LATENCY_MS / 1000
    assert {r.status for r in limited.requests} == {200}


def test_a_failed_read_can_stay_in_its_place(make, limited):
    api = make()
    limited.faults.latency_ms = 0
    services = [s.sid for s in limited.store.services()]
    limited.faults.add(
        Fault(method="GET", path=rf"/Services/{services[1]}/Environments$", status=404)
    )
    results = api.read_many(
        lambda sid: api.environment_list(service_sid=sid), services, return_exceptions=True
    )
    assert isinstance(results[1], NotFound)
    assert all(isinstance(r, list) for i, r in enumerate(results) if i != 1)
    limited.faults.add(
        Fault(method="GET", path=rf"/Services/{services[1]}/Environments$", status=404)
    )
    with pytest.raises(NotFound):
        api.read_many(lambda sid: api.environment_list(service_sid=sid), services)


def test_reads_nested_in_the_pool_do_not_deadlock(make, limited):
    api = make()
    limited.faults.latency_ms = 20
    envs = [e for s in limited.store.services() for e in limited.store.environments(s.sid)]
    assert len(envs) > 10  # more than the pool: every worker busy with a nested read_many

    def environment_and_history(env):
        # Each worker asks for two more reads at once, from inside the pool.
        return api.read_many(
            lambda read: read(),
            [
                lambda: api.environment_get(service_sid=env.service_sid, environment_sid=env.sid),
                lambda: list(
                    api.deployment_iter(
                        service_sid=env.service_sid, environment_sid=env.sid, page_size=1000
                    )
                ),
            ],
        )

    pairs = api.read_many(environment_and_history, envs)
    assert [environment.build_sid for environment, _ in pairs] == [env.build_sid for env in envs]
    assert [len(history) for _, history in pairs] == [
        len(limited.store.deployments(env.sid)) for env in envs
    ]
