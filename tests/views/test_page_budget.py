"""A slow Twilio never holds a page for more than its upstream budget (issue 10).

Every read here is slower than nothing and faster than the read timeout, so no single read
times out: only the page's total budget can stop a chain of them.
"""

from __future__ import annotations

import time

import pytest

from deployments_app.services.serverless import reset_client

pytestmark = pytest.mark.django_db

READ_TIMEOUT = 1.0


@pytest.fixture
def slow_upstream(upstream, settings):
    settings.TWILIO_READ_TIMEOUT = READ_TIMEOUT
    settings.DASHBOARD_PAGE_UPSTREAM_SECONDS = READ_TIMEOUT
    reset_client()
    upstream.faults.latency_ms = 700  # each read 0.7 s: three in a row would take 2.1 s
    yield upstream
    upstream.faults.latency_ms = 0


def timed_get(client, url: str, **headers: str):
    started = time.monotonic()
    response = client.get(url, **headers)
    return response, time.monotonic() - started


def test_the_environment_page_gives_up_within_its_budget_with_a_clear_message(
    slow_upstream, manager_client
):
    service = slow_upstream.store.service("ivr-flows")
    stage = slow_upstream.store.environment_named(service.sid, "stage")
    response, elapsed = timed_get(
        manager_client, f"/services/{service.sid}/environments/{stage.sid}/"
    )
    assert elapsed < 2 * READ_TIMEOUT, f"the page took {elapsed:.1f} s"
    assert response.status_code == 502
    body = response.content.decode()
    assert "Twilio is answering too slowly: this page stopped waiting after 1 s." in body
    assert "Traceback" not in body


def test_the_overview_row_gives_up_within_its_budget(slow_upstream, manager_client):
    service = slow_upstream.store.service("ivr-flows")
    response, elapsed = timed_get(
        manager_client, f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true"
    )
    assert elapsed < 2 * READ_TIMEOUT, f"the row took {elapsed:.1f} s"
    assert response.status_code < 500 or "answering too slowly" in response.content.decode()


def test_the_overview_gives_up_within_its_budget_with_a_clear_message(
    slow_upstream, manager_client
):
    response, elapsed = timed_get(manager_client, "/")
    assert elapsed < 2 * READ_TIMEOUT, f"the overview took {elapsed:.1f} s"
    body = response.content.decode()
    assert "answering too slowly" in body
    assert "Traceback" not in body


def test_the_page_reads_normally_again_once_twilio_is_fast(slow_upstream, manager_client):
    service = slow_upstream.store.service("ivr-flows")
    stage = slow_upstream.store.environment_named(service.sid, "stage")
    url = f"/services/{service.sid}/environments/{stage.sid}/"
    assert manager_client.get(url).status_code == 502
    slow_upstream.faults.latency_ms = 0
    assert manager_client.get(url).status_code == 200


def test_an_action_post_is_not_cut_short_by_the_budget(slow_upstream, manager_client):
    service = slow_upstream.store.service("ivr-flows")
    dev = slow_upstream.store.environment_named(service.sid, "dev")
    stage = slow_upstream.store.environment_named(service.sid, "stage")
    response = manager_client.post(
        "/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}
    )
    assert response.status_code < 400, response.content.decode()[:500]
    assert slow_upstream.store.environment_named(service.sid, "stage").build_sid == dev.build_sid


def test_a_read_started_after_the_budget_is_spent_fails_at_once_in_any_thread(upstream):
    import threading

    from deployments_app.services.serverless import get_client
    from deployments_app.services.upstream_budget import BudgetSpent, page_budget

    client = get_client()
    caught: list[BaseException] = []

    def read() -> None:
        # A fresh thread: no attempt was ever counted here.
        with page_budget(0):
            try:
                client.service_list()
            except BaseException as exc:
                caught.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert len(caught) == 1
    assert isinstance(caught[0], BudgetSpent)
    assert "answering too slowly" in caught[0].user_message
