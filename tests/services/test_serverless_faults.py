"""Faults injected through the emulator: each asserts the typed error, the number of
attempts, and for deployments that nothing was deployed twice."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace

import pytest

from deployments_app.services.serverless import ServerlessClient
from deployments_app.services.serverless_errors import (
    AuthenticationFailed,
    DeploymentNotApplied,
    DeploymentOutcomeUnknown,
    RateLimited,
    UpstreamUnavailable,
)
from serverless_emulator import Fault

ENVIRONMENTS = r"/Environments$"
DEPLOYMENTS = r"/Deployments$"


def to(requests: list, method: str, path: str) -> list:
    return [r for r in requests if r.method == method and r.path == path]


@pytest.fixture(autouse=True)
def _debug_log(caplog):
    caplog.set_level(logging.DEBUG, logger="deployments_app.services.serverless")


def posts_sent(caplog) -> int:
    """POSTs the client sent, from its per-request debug line.

    A timed-out request never reaches the emulator's log (see conftest.recorded), so
    for those the client's own account is the witness; the store proves the effect.
    """
    return sum(
        1
        for record in caplog.records
        if record.name == "deployments_app.services.serverless"
        and record.msg.startswith("%s %s -> ")
        and record.args[0] == "POST"
    )


@pytest.fixture
def ivr(seed):
    return seed.service("ivr-flows")


@pytest.fixture
def envs_path(ivr) -> str:
    return f"/v1/Services/{ivr.sid}/Environments"


# --- GET: retried faults -------------------------------------------------------------------


def test_429_is_retried_after_the_time_twilio_asks(api, ivr, emulator, recorded, envs_path, caplog):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=429, count=2, retry_after=1))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="deployments_app.services.serverless"):
        envs = api.environment_list(service_sid=ivr.sid)
    assert len(envs) == 3
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, twice
    assert [r.status for r in to(recorded(), "GET", envs_path)] == [429, 429, 200]
    assert api.stats.retries == 2
    assert caplog.text.count("retrying") == 2


def test_429_asking_longer_than_the_cap_fails_at_once_with_the_wait(api, ivr, emulator, recorded):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=429, count=1, retry_after=30))
    with pytest.raises(RateLimited) as caught:
        api.environment_list(service_sid=ivr.sid)
    error = caught.value
    assert (error.status, error.code, error.retry_after, error.attempts) == (429, 20429, 30.0, 1)
    assert "30 s" in error.user_message
    assert len(recorded()) == 1


def test_a_burst_of_503_is_retried_until_it_passes(api, ivr, emulator, recorded, envs_path):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=503, count=3))
    assert len(api.environment_list(service_sid=ivr.sid)) == 3
    assert [r.status for r in to(recorded(), "GET", envs_path)] == [503, 503, 503, 200]


def test_503_that_does_not_end_gives_up_after_max_attempts(api, ivr, emulator, recorded, envs_path):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=503, count=None))
    with pytest.raises(UpstreamUnavailable) as caught:
        api.environment_list(service_sid=ivr.sid)
    error = caught.value
    assert (error.status, error.code, error.attempts) == (503, 20503, 4)
    assert error.more_info
    assert len(to(recorded(), "GET", envs_path)) == 4


def test_retries_stop_when_the_time_budget_is_spent(make_client, ivr, emulator, recorded):
    slow_backoff = make_client(
        max_attempts=50,
        retry_budget_seconds=1.0,
        backoff_base_seconds=0.4,
        backoff_max_seconds=0.4,
    )
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=502, count=None))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as caught:
        slow_backoff.environment_list(service_sid=ivr.sid)
    assert time.monotonic() - started < 1.5
    # Sleeps of 0.2-0.4 s fit at most five times into the 1 s budget.
    assert 2 <= caught.value.attempts <= 6
    assert len(recorded()) == caught.value.attempts


def test_500_is_not_retried(api, ivr, emulator, recorded):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=500, count=None))
    with pytest.raises(UpstreamUnavailable) as caught:
        api.environment_list(service_sid=ivr.sid)
    assert caught.value.attempts == 1
    assert len(recorded()) == 1


def test_an_html_error_page_from_a_proxy_is_retried_then_reported(
    api, ivr, emulator, recorded, envs_path
):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=502, body="html", count=1))
    assert len(api.environment_list(service_sid=ivr.sid)) == 3
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=502, body="html", count=None))
    with pytest.raises(UpstreamUnavailable) as caught:
        api.environment_list(service_sid=ivr.sid)
    error = caught.value
    assert (error.status, error.code, error.attempts) == (502, None, 4)
    assert "text/html" in (error.detail or "")
    assert [r.status for r in to(recorded(), "GET", envs_path)] == [502, 200, 502, 502, 502, 502]


def test_a_dropped_connection_on_a_read_is_retried(api, ivr, emulator, recorded, envs_path):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, drop_connection=True, count=1))
    assert len(api.environment_list(service_sid=ivr.sid)) == 3
    assert [r.status for r in to(recorded(), "GET", envs_path)] == [0, 200]


def test_nothing_listening_is_upstream_unavailable_after_retries(config, ivr):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Not from make_client: its requests never reach the emulator's log.
    nowhere = ServerlessClient(replace(config, base_url=f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            nowhere.environment_list(service_sid=ivr.sid)
    finally:
        nowhere.close()
    assert caught.value.attempts == 4
    assert caught.value.message == "Could not connect to Twilio"


# --- GET: faults that are not retried ---------------------------------------------------


def test_a_read_slower_than_the_timeout_fails_once_without_retry(api, ivr, emulator, recorded):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=None, delay_ms=1500))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as caught:
        api.environment_list(service_sid=ivr.sid)
    assert time.monotonic() - started < 1.2
    assert caught.value.attempts == 1
    assert "did not answer within 0.6 s" in caught.value.message
    assert (api.stats.requests_sent, api.stats.timeouts) == (1, 1)


@pytest.mark.parametrize("body", ["malformed", "empty", "html"])
def test_a_200_whose_body_is_not_json_is_upstream_unavailable(api, ivr, emulator, recorded, body):
    emulator.faults.add(Fault(method="GET", path=ENVIRONMENTS, status=200, body=body))
    with pytest.raises(UpstreamUnavailable) as caught:
        api.environment_list(service_sid=ivr.sid)
    assert caught.value.status == 200
    assert caught.value.attempts == 1
    assert len(recorded()) == 1


def test_wrong_credentials_are_an_authentication_failure_not_retried(make_client, ivr, recorded):
    wrong = make_client(auth_token="not-the-token")
    with pytest.raises(AuthenticationFailed) as caught:
        wrong.environment_list(service_sid=ivr.sid)
    error = caught.value
    assert (error.status, error.code, error.attempts) == (401, 20003, 1)
    assert error.more_info == "https://www.twilio.com/docs/errors/20003"
    assert "TWILIO_AUTH_TOKEN" in error.user_message
    assert len(recorded()) == 1


def test_missing_credentials_fail_before_any_request(make_client, ivr, recorded):
    anonymous = make_client(account_sid="", auth_token="")
    with pytest.raises(AuthenticationFailed):
        anonymous.environment_list(service_sid=ivr.sid)
    assert recorded() == []


def test_api_key_credentials_are_used_when_set(emulator, make_client, ivr, recorded):
    emulator.api_keys["SK" + "5" * 32] = "key-secret"  # the emulator's Credentials share it
    keyed = make_client(auth_token="wrong", api_key="SK" + "5" * 32, api_secret="key-secret")
    assert len(keyed.environment_list(service_sid=ivr.sid)) == 3


# --- the deployment POST: never retried, ambiguity settled by re-reading ----------------


def deploy_dev_build_to_stage(api, seed):
    """The deployment POST a promotion of dev to stage sends, ready to run."""
    dev = seed.env("ivr-flows", "dev")
    stage = seed.env("ivr-flows", "stage")
    assert dev.build_sid != stage.build_sid
    return (
        dev,
        stage,
        lambda: api.deployment_create(
            service_sid=dev.service_sid, environment_sid=stage.sid, build_sid=dev.build_sid
        ),
    )


def test_post_timing_out_after_it_took_effect_is_confirmed_by_rereading(
    api, seed, emulator, recorded, caplog
):
    dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(
        Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1500, after_effect=True)
    )
    result = run()
    assert result.confirmed_by_reread
    assert result.changed
    assert result.deployment is not None
    assert result.deployment.build_sid == dev.build_sid
    after = emulator.store.deployments(stage.sid)
    assert len(after) == before + 1  # deployed exactly once
    assert result.deployment.sid == after[0].sid
    assert posts_sent(caplog) == 1


def test_post_losing_its_connection_after_it_took_effect_is_confirmed(
    api, seed, emulator, recorded
):
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(
        Fault(method="POST", path=DEPLOYMENTS, drop_connection=True, after_effect=True)
    )
    result = run()
    assert result.confirmed_by_reread
    assert emulator.store.environments(stage.service_sid)  # still readable
    assert len(emulator.store.deployments(stage.sid)) == before + 1
    assert len([r for r in recorded() if r.method == "POST"]) == 1


def test_post_with_an_unreadable_201_is_confirmed(api, seed, emulator, recorded):
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(
        Fault(method="POST", path=DEPLOYMENTS, status=201, body="malformed", after_effect=True)
    )
    assert run().confirmed_by_reread
    assert len(emulator.store.deployments(stage.sid)) == before + 1
    assert len([r for r in recorded() if r.method == "POST"]) == 1


def test_post_losing_its_connection_before_effect_is_sent_once_and_not_applied(
    api, seed, emulator, recorded
):
    # urllib3 would retry a broken connection for any method: the client must not.
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(Fault(method="POST", path=DEPLOYMENTS, drop_connection=True))
    with pytest.raises(DeploymentNotApplied) as caught:
        run()
    assert caught.value.attempts == 1
    assert len(emulator.store.deployments(stage.sid)) == before
    assert len([r for r in recorded() if r.method == "POST"]) == 1
    assert api.stats.retries == 0


def test_post_to_nothing_listening_is_not_retried(config, seed):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = ServerlessClient(replace(config, base_url=f"http://127.0.0.1:{port}"))
    stage = seed.env("ivr-flows", "stage")
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            nowhere.deployment_create(
                service_sid=stage.service_sid, environment_sid=stage.sid, build_sid=None
            )
    finally:
        nowhere.close()
    # Never sent, so not ambiguous: no re-read either.
    assert not isinstance(caught.value, DeploymentNotApplied | DeploymentOutcomeUnknown)
    assert caught.value.message == "Could not connect to Twilio"
    assert caught.value.attempts == 1
    assert (nowhere.stats.requests_sent, nowhere.stats.retries) == (1, 0)


@pytest.mark.parametrize("body", ["twilio", "html"])
def test_post_failing_with_503_before_effect_reports_not_applied(
    api, seed, emulator, recorded, body
):
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=503, body=body))
    with pytest.raises(DeploymentNotApplied) as caught:
        run()
    error = caught.value
    assert error.took_effect is False
    assert error.live_build_sid == stage.build_sid
    assert error.attempts == 1
    assert "Nothing changed" in error.user_message
    assert len(emulator.store.deployments(stage.sid)) == before
    assert len([r for r in recorded() if r.method == "POST"]) == 1


def test_post_timing_out_before_effect_is_found_once_it_lands(
    make_client, seed, emulator, recorded, caplog
):
    # The request is still running upstream when the client gives up: the re-reads
    # keep looking for a while (settle_seconds) and see it land.
    api = make_client(settle_seconds=2.0)
    dev, _stage, run = deploy_dev_build_to_stage(api, seed)
    emulator.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1000))
    result = run()
    assert result.confirmed_by_reread
    assert result.deployment is not None
    assert result.deployment.build_sid == dev.build_sid
    assert posts_sent(caplog) == 1


def test_post_and_reread_both_failing_is_outcome_unknown(api, seed, emulator, recorded, caplog):
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    before = len(emulator.store.deployments(stage.sid))
    emulator.faults.add(
        Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1500, after_effect=True)
    )
    # Every re-read of the target environment fails.
    emulator.faults.add(
        Fault(method="GET", path=rf"/Environments/{stage.sid}$", status=503, count=None)
    )
    with pytest.raises(DeploymentOutcomeUnknown) as caught:
        run()
    assert caught.value.took_effect is None
    assert "before trying again" in caught.value.user_message
    assert len(emulator.store.deployments(stage.sid)) == before + 1  # it did land, once
    assert posts_sent(caplog) == 1


def test_post_rate_limited_is_not_retried_nor_reread(api, seed, emulator, recorded):
    _dev, stage, run = deploy_dev_build_to_stage(api, seed)
    emulator.faults.add(Fault(method="POST", path=DEPLOYMENTS, status=429, retry_after=1))
    sent_before = api.stats.requests_sent
    with pytest.raises(RateLimited):
        run()
    assert api.stats.requests_sent == sent_before + 1  # 1 POST, no retry, no re-read
    assert api.stats.retries == 0
    assert len([r for r in recorded() if r.method == "POST"]) == 1
    assert emulator.store.environment(stage.sid).build_sid == stage.build_sid


def test_clear_timing_out_after_effect_is_confirmed(api, seed, emulator, recorded, caplog):
    production = seed.env("ivr-flows", "production")
    emulator.faults.add(
        Fault(method="POST", path=DEPLOYMENTS, status=None, delay_ms=1500, after_effect=True)
    )
    result = api.deployment_create(
        service_sid=production.service_sid, environment_sid=production.sid, build_sid=None
    )
    assert result.confirmed_by_reread
    assert result.deployment is not None
    assert result.deployment.build_sid is None
    assert posts_sent(caplog) == 1
