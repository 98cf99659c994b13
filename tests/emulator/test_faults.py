"""Fault injection, each kind, in process and over the control endpoints."""

from __future__ import annotations

import json
import time

import pytest
import requests

from serverless_emulator import Emulator, Fault
from tests.emulator.helpers import Api, Seeded, env_path
from tests.spec import validate_error


def test_an_error_fault_hits_count_matching_requests_then_stops(
    api: Api, emulator: Emulator
) -> None:
    fault = emulator.faults.add(Fault(method="GET", path=r"^/v1/Services$", status=503, count=2))

    statuses = [api.get("/v1/Services").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert fault.hits == 2
    body = validate_error(503, emulator.requests[0].response_body)
    assert body["code"] == 20503


def test_a_fault_only_matches_its_method_and_path(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(method="POST", path=r"/Deployments$", status=500, count=None))
    assert api.get("/v1/Services").status_code == 200
    assert api.get("/v1/Services/ivr-flows/Environments").status_code == 200


def test_html_body_looks_like_a_proxy_error_page(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=502, body="html"))
    response = api.request("GET", "/v1/Services", check=False)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "502 Bad Gateway" in response.text


def test_malformed_body_is_not_json(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=200, body="malformed"))
    response = api.request("GET", "/v1/Services", check=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_empty_body(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=500, body="empty"))
    response = api.request("GET", "/v1/Services", check=False)
    assert (response.status_code, response.content) == (500, b"")


def test_retry_after_on_a_fault(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=429, retry_after=7))
    response = api.get("/v1/Services")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert validate_error(429, response.content)["code"] == 20429


def test_a_delay_makes_the_client_time_out(emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=None, delay_ms=1000))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{emulator.base_url}/v1/Services",
            auth=(emulator.account_sid, emulator.auth_token),
            timeout=0.2,
        )


def test_a_delay_without_status_answers_normally_late(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="Services", status=None, delay_ms=150))
    started = time.monotonic()
    assert api.get("/v1/Services").status_code == 200
    assert time.monotonic() - started >= 0.14


def test_a_dropped_connection_gets_no_answer_and_changes_nothing(
    emulator: Emulator, seeded: Seeded
) -> None:
    stage = seeded.env(name="stage")
    emulator.faults.add(Fault(method="POST", path="/Deployments$", drop_connection=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{emulator.base_url}{env_path(stage, '/Deployments')}",
            data={"BuildSid": seeded.deployable(stage).sid},
            auth=(emulator.account_sid, emulator.auth_token),
            timeout=2,
        )
    assert emulator.store.environment(stage.sid).build_sid == stage.build_sid
    assert emulator.requests[-1].status == 0


@pytest.mark.parametrize(
    "fault",
    [
        Fault(method="POST", path="/Deployments$", status=None, delay_ms=800, after_effect=True),
        Fault(method="POST", path="/Deployments$", drop_connection=True, after_effect=True),
        Fault(method="POST", path="/Deployments$", status=504, body="html", after_effect=True),
    ],
    ids=["timeout", "dropped", "gateway-timeout"],
)
def test_an_after_effect_fault_fails_the_call_but_the_deployment_happened(
    emulator: Emulator, seeded: Seeded, fault: Fault
) -> None:
    stage = seeded.env(name="stage")
    build = seeded.deployable(stage)
    emulator.faults.add(fault)

    try:
        response = requests.post(
            f"{emulator.base_url}{env_path(stage, '/Deployments')}",
            data={"BuildSid": build.sid},
            auth=(emulator.account_sid, emulator.auth_token),
            timeout=0.3,
        )
    except requests.exceptions.RequestException:
        pass  # timeout or dropped: the client cannot know what happened
    else:
        assert response.status_code == 504

    assert emulator.store.environment(stage.sid).build_sid == build.sid
    assert emulator.store.deployments(stage.sid)[0].build_sid == build.sid


def test_latency_slows_every_request(api: Api, emulator: Emulator) -> None:
    emulator.faults.latency_ms = 120
    started = time.monotonic()
    api.get("/v1/Services")
    assert time.monotonic() - started >= 0.11


def test_error_rate_answers_a_share_with_error_status(api: Api, emulator: Emulator) -> None:
    emulator.faults.error_rate = 1.0
    emulator.faults.error_status = 500
    assert {api.get("/v1/Services").status_code for _ in range(3)} == {500}
    emulator.faults.error_rate = 0.5
    statuses = [api.get("/v1/Services").status_code for _ in range(40)]
    assert 0 < statuses.count(500) < 40


def test_clear_removes_faults_and_restores_the_knobs(api: Api, emulator: Emulator) -> None:
    emulator.faults.add(Fault(path="", status=503, count=None))
    emulator.faults.error_rate = 1.0
    emulator.faults.latency_ms = 500
    emulator.faults.clear()
    started = time.monotonic()
    assert api.get("/v1/Services").status_code == 200
    assert time.monotonic() - started < 0.4


def test_reset_clears_faults_requests_and_state(api: Api, emulator: Emulator) -> None:
    api.post("/v1/Services", {"UniqueName": "temp", "FriendlyName": "Temp"})
    emulator.faults.add(Fault(path="", status=503, count=None))
    services_before = [s.sid for s in emulator.store.services()]

    emulator.reset(seed="demo")

    assert emulator.faults.faults == []
    assert len(emulator.requests) == 0
    assert [s.sid for s in emulator.store.services()] == services_before[:-1]
    emulator.reset(seed="empty")
    assert emulator.store.services() == []


def test_an_invalid_fault_is_refused_when_added() -> None:
    with pytest.raises(ValueError, match="body"):
        Fault(body="xml")  # type: ignore[arg-type]


class TestControlEndpoints:
    """The same controls over HTTP, for `make run` demos; no auth needed."""

    def test_add_list_and_clear_faults(self, emulator: Emulator, api: Api) -> None:
        control = f"{emulator.base_url}/_emulator/faults"
        added = requests.post(
            control,
            json={"method": "GET", "path": "Services$", "status": 503, "count": 1},
            timeout=5,
        )
        assert added.status_code == 201
        assert added.json()["faults"][0]["status"] == 503
        assert api.get("/v1/Services").status_code == 503
        assert api.get("/v1/Services").status_code == 200

        requests.post(control, json={"latency_ms": 10, "error_rate": 0.0}, timeout=5)
        assert requests.get(control, timeout=5).json()["latency_ms"] == 10
        assert requests.delete(control, timeout=5).status_code == 204
        assert requests.get(control, timeout=5).json()["faults"] == []

    def test_bad_fault_definitions_are_400(self, emulator: Emulator) -> None:
        control = f"{emulator.base_url}/_emulator/faults"
        assert requests.post(control, json={"colour": "red"}, timeout=5).status_code == 400
        assert requests.post(control, json={"body": "xml"}, timeout=5).status_code == 400
        assert requests.post(control, data="not json", timeout=5).status_code == 400

    def test_requests_are_listed_with_auth_redacted(self, emulator: Emulator, api: Api) -> None:
        api.get("/v1/Services", PageSize=2)
        listed = requests.get(f"{emulator.base_url}/_emulator/requests", timeout=5).json()
        recorded = listed["requests"][-1]
        assert recorded["path"] == "/v1/Services"
        assert recorded["query"] == {"PageSize": ["2"]}
        assert recorded["status"] == 200
        assert emulator.auth_token not in json.dumps(listed)

    def test_reset_over_http(self, emulator: Emulator, api: Api) -> None:
        response = requests.post(
            f"{emulator.base_url}/_emulator/reset", json={"seed": "empty"}, timeout=5
        )
        assert response.json()["counts"]["services"] == 0
        assert api.get("/v1/Services").json()["services"] == []
        bad = requests.post(
            f"{emulator.base_url}/_emulator/reset", json={"seed": "nope"}, timeout=5
        )
        assert bad.status_code == 400

    def test_control_requests_are_not_recorded(self, emulator: Emulator) -> None:
        requests.get(f"{emulator.base_url}/_emulator/health", timeout=5)
        assert len(emulator.requests) == 0
