"""Fixtures for the Serverless client's tests: a client on the running emulator.

Timeouts and backoff are short so that the fault tests run in well under a minute.
Every request a test sent to the emulator is checked against the spec at teardown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from deployments_app.services.serverless import ClientConfig, ServerlessClient

FAST = {
    "connect_timeout": 1.0,
    "read_timeout": 0.6,
    "max_attempts": 4,
    "retry_budget_seconds": 3.0,
    "retry_after_cap_seconds": 2.0,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
}


@pytest.fixture
def config(emulator) -> ClientConfig:
    return ClientConfig(
        base_url=emulator.base_url,
        account_sid=emulator.account_sid,
        auth_token=emulator.auth_token,
        **FAST,
    )


@pytest.fixture
def made_clients() -> list[ServerlessClient]:
    return []


@pytest.fixture
def make_client(config, made_clients) -> Iterator:
    """Build extra clients (other credentials, limits); all are closed at teardown."""
    made = made_clients

    def make(**changes) -> ServerlessClient:
        client = ServerlessClient(replace(config, **changes))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(make_client) -> ServerlessClient:
    """A ServerlessClient on the emulator (named `api`: pytest-django owns `client`)."""
    return make_client()


@pytest.fixture
def recorded(emulator, made_clients):
    """The emulator's request log, once it holds every request our clients sent.

    The emulator appends a request to its log after answering it, so a test that
    reads the log right after a call could miss the last one. A request our client
    gave up on (read timeout) never gets there: the emulator's answer to the closed
    socket fails before it records the request.
    """

    def settled(timeout: float = 3.0) -> list:
        stats = [client.stats for client in made_clients]
        sent = sum(s.requests_sent - s.timeouts for s in stats)
        deadline = time.monotonic() + timeout
        while len(emulator.requests) < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(emulator.requests)

    return settled


@pytest.fixture(autouse=True)
def _every_request_matches_the_spec(request) -> Iterator[None]:
    if "emulator" not in request.fixturenames:
        yield
        return
    settled = request.getfixturevalue("recorded")
    yield
    from tests.spec import validate_request

    for sent in settled():
        validate_request(sent)


class Seed:
    """Finds demo-seed objects by name in the emulator's store."""

    def __init__(self, emulator) -> None:
        self.store = emulator.store

    def service(self, unique_name: str):
        return next(s for s in self.store.services() if s.unique_name == unique_name)

    def env(self, service_name: str, env_name: str):
        service = self.service(service_name)
        return next(e for e in self.store.environments(service.sid) if e.unique_name == env_name)

    def builds(self, service_name: str, status: str | None = None) -> list:
        builds = self.store.builds(self.service(service_name).sid)
        return [b for b in builds if status is None or b.status == status]


@pytest.fixture
def seed(emulator) -> Seed:
    return Seed(emulator)
