"""The fault matrix's fixtures: a signed-in release manager, short timeouts, and faults
that can start and end while the dashboard keeps running (nothing is reset between the
fault and the request that proves the recovery).

Everything is on loopback and bounded: each fault lasts a few requests or a few seconds.
"""

from __future__ import annotations

import html
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client, override_settings

from deployments_app.models import AuditEntry
from deployments_app.services.serverless import reset_client
from serverless_emulator import Emulator
from tests.fixtures.emulator import TEST_BUILD_SECONDS
from tests.fixtures.redis import redis_cache_settings

HTMX = {"HTTP_HX_REQUEST": "true"}
READ_TIMEOUT = 0.5
DASHBOARD_PAGE_UPSTREAM_SECONDS = 2.0
DEPLOYMENTS = r"/Deployments$"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def short_timeouts(settings) -> Iterator[None]:
    """A read timeout of 0.5 s, a page budget of 2 s, and retries that fit in 1.5 s."""
    settings.TWILIO_READ_TIMEOUT = READ_TIMEOUT
    settings.TWILIO_CONNECT_TIMEOUT = 0.5
    settings.DASHBOARD_PAGE_UPSTREAM_SECONDS = DASHBOARD_PAGE_UPSTREAM_SECONDS
    settings.TWILIO_RETRY_BUDGET_SECONDS = 1.5
    settings.TWILIO_RETRY_AFTER_CAP_SECONDS = 2.0
    reset_client()
    yield
    reset_client()


@pytest.fixture
def manager_client(django_user_model) -> Client:
    """A release manager's browser: what a person sees, so a view's exception is a page
    (the 500 handler's), not an exception raised into the test."""
    user = django_user_model.objects.create_user("rita")  # no password: nothing to hash
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    return browser


# --- Twilio that goes away and comes back on the same address ---------------------------


@pytest.fixture
def twilio(settings) -> Iterator[Emulator]:
    """The seeded emulator on a fixed port, so that it can be stopped and started again."""
    emulator = Emulator(seed="demo", port=free_port(), build_seconds=TEST_BUILD_SECONDS)
    emulator.start()
    settings.TWILIO_SERVERLESS_BASE_URL = emulator.base_url
    settings.TWILIO_ACCOUNT_SID = emulator.account_sid
    settings.TWILIO_AUTH_TOKEN = emulator.auth_token
    cache.clear()
    reset_client()
    yield emulator
    emulator.stop()
    reset_client()
    cache.clear()


def twilio_down(emulator: Emulator) -> None:
    emulator.stop()
    # stop() closes the listening socket but not the keep-alive connections its handler
    # threads still serve; a real outage resets those too, as dropping the pool does.
    reset_client()


@dataclass(frozen=True)
class Promotion:
    """ivr-flows: dev's build promoted to stage (they differ in the demo seed)."""

    emulator: Emulator

    @property
    def service(self):
        return self.emulator.store.service("ivr-flows")

    def env(self, name: str):
        return self.emulator.store.environment_named(self.service.sid, name)

    @property
    def form(self) -> dict[str, str]:
        return {"service": self.service.sid, "source": self.env("dev").sid, "target": self.stage}

    @property
    def stage(self) -> str:
        return self.env("stage").sid

    @property
    def page(self) -> str:
        return f"/services/{self.service.sid}/environments/{self.stage}/"

    def deployments(self) -> int:
        return len(self.emulator.store.deployments(self.stage))

    def live(self) -> str | None:
        return self.emulator.store.environment(self.stage).build_sid

    def post(self, browser):
        return browser.post("/actions/promote/", self.form, **HTMX)


@pytest.fixture
def promotion(twilio) -> Promotion:
    found = Promotion(twilio)
    assert found.env("dev").build_sid != found.live()
    return found


# --- Redis that goes away and comes back on the same address ------------------------------


@dataclass
class RedisServer:
    """A redis-server of the test's own, on loopback, without persistence."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def with_redis(twilio, redis_server) -> Iterator[RedisServer]:
    """REDIS_URL and a RedisCache on the test's redis-server (the lock is then Redis's).

    Entered after `twilio` and left before it, whose teardown clears the cache.
    """
    with override_settings(
        REDIS_URL=redis_server.url, CACHES=redis_cache_settings(redis_server.url)
    ):
        yield redis_server


# --- what the upstream and the audit log say -------------------------------------------


def deployment_posts(emulator: Emulator, *, expect: int = 0, within: float = 3.0) -> list:
    """The POSTs to .../Deployments the emulator answered (or dropped).

    A delayed POST is logged once its answer is sent: with `expect`, wait (at most
    `within` seconds) until that many are logged.
    """
    deadline = time.monotonic() + within
    while True:
        posts = [
            r for r in emulator.requests if r.method == "POST" and r.path.endswith("/Deployments")
        ]
        if len(posts) >= expect or time.monotonic() > deadline:
            return posts
        time.sleep(0.05)


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("created_at", "id"))


def assert_clear(response, *, status: int, says: str | tuple[str, ...]) -> str:
    """A page (or fragment) with this status and this message (or one of these); never a
    bare 500, never a traceback."""
    body = html.unescape(response.content.decode())
    assert response.status_code == status, (response.status_code, body[:500])
    assert "Traceback" not in body
    assert "Server Error (500)" not in body
    messages = (says,) if isinstance(says, str) else says
    assert any(message in body for message in messages), (messages, body[-3000:])
    return body
