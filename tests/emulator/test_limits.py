"""429/20429 when the concurrency or rate limit is exceeded, with or without Retry-After."""

from __future__ import annotations

import threading
import time

import requests

from tests.spec import validate_error


def get_services(base_url: str, auth: tuple[str, str]) -> requests.Response:
    return requests.get(f"{base_url}/v1/Services", auth=auth, timeout=5)


def test_rate_limit_answers_429_with_retry_after(emulator_factory) -> None:
    emu = emulator_factory(seed="empty", rate_limit_per_second=3)
    auth = (emu.account_sid, emu.auth_token)

    responses = [get_services(emu.base_url, auth) for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert validate_error(429, responses[3].content)["code"] == 20429
    assert responses[3].headers["Retry-After"] == "1"
    assert [r.status for r in emu.requests] == [200, 200, 200, 429, 429]


def test_the_rate_window_slides(emulator_factory) -> None:
    emu = emulator_factory(seed="empty", rate_limit_per_second=2)
    auth = (emu.account_sid, emu.auth_token)
    assert [get_services(emu.base_url, auth).status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1.05)
    assert get_services(emu.base_url, auth).status_code == 200


def test_rate_limit_without_retry_after(emulator_factory) -> None:
    # Real Twilio does not promise Retry-After; clients must cope without it.
    emu = emulator_factory(seed="empty", rate_limit_per_second=1, retry_after=False)
    auth = (emu.account_sid, emu.auth_token)
    get_services(emu.base_url, auth)
    refused = get_services(emu.base_url, auth)
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers


def test_concurrency_limit_refuses_the_request_over_the_limit(emulator_factory) -> None:
    emu = emulator_factory(seed="empty", max_concurrency=2, latency_ms=400)
    auth = (emu.account_sid, emu.auth_token)
    start = threading.Barrier(3)
    statuses: list[int] = []
    lock = threading.Lock()

    def call(delay: float) -> None:
        start.wait()
        time.sleep(delay)  # the third one arrives while two are in flight
        status = get_services(emu.base_url, auth).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call, args=(d,)) for d in (0, 0, 0.15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 429]
    refused = next(r for r in emu.requests if r.status == 429)
    assert validate_error(429, refused.response_body)["code"] == 20429
    assert emu.throttle.in_flight == 0
