"""Logs over time for a deployed build: traffic profiles and the logs control endpoint.

The v1 reads go through `Api`, so every Logs answer here is also checked against the spec.
"""

from __future__ import annotations

import time

import pytest
import requests

from serverless_emulator import Emulator
from serverless_emulator.store import Store
from tests.emulator.helpers import Api, Seeded, env_path

MINUTE = 60.0


class Clock:
    """A clock the test moves by hand (the store reads time only through `clock`)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(emulator: Emulator) -> Clock:
    clock = Clock()
    emulator.store.clock = clock
    return clock


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def deploy(api: Api, env, build_sid: str) -> dict:
    response = api.post(env_path(env, "/Deployments"), data={"BuildSid": build_sid})
    assert response.status_code == 201, response.text
    return response.json()


def logs_since(api: Api, env, start: float) -> list[dict]:
    pages = api.pages(env_path(env, "/Logs"), StartDate=iso(start), PageSize=100)
    return [log for page in pages for log in page["logs"]]


def control(emulator: Emulator, method: str, path: str, payload=None) -> requests.Response:
    return requests.request(method, f"{emulator.base_url}{path}", json=payload, timeout=5)


def test_a_deployed_build_with_an_error_rate_logs_errors_dated_after_its_deployment(
    api: Api, seeded: Seeded, clock: Clock
) -> None:
    env = seeded.env("sms-notifications", "stage")
    build = seeded.deployable(env)
    seeded.store.set_build_traffic(build.sid, error_rate=0.5, every=MINUTE)
    deployed_at = clock.now
    deployment = deploy(api, env, build.sid)
    assert logs_since(api, env, deployed_at) == [], "no traffic is made up before time passes"

    clock.advance(10 * MINUTE)
    made = logs_since(api, env, deployed_at)
    assert len(made) == 10  # one invocation a minute
    assert sum(log["level"] == "error" for log in made) == 5
    assert {log["deployment_sid"] for log in made} == {deployment["sid"]}
    assert {log["build_sid"] for log in made} == {build.sid}
    assert all(log["date_created"] > iso(deployed_at) for log in made)
    functions = {ref.parent_sid for ref in build.function_versions}
    assert {log["function_sid"] for log in made} <= functions
    # Read again: nothing is made twice.
    assert len(logs_since(api, env, deployed_at)) == 10


def test_traffic_stops_when_the_next_deployment_replaces_the_build(
    api: Api, seeded: Seeded, clock: Clock
) -> None:
    env = seeded.env("sms-notifications", "stage")
    erring, other = [b for b in seeded.builds(env.service_sid, "completed")][:2]
    if erring.sid == env.build_sid:
        erring, other = other, erring
    seeded.store.set_build_traffic(erring.sid, error_rate=1.0, every=MINUTE)
    start = clock.now
    deploy(api, env, erring.sid)
    clock.advance(5 * MINUTE)
    replaced_at = clock.now
    deploy(api, env, other.sid)
    clock.advance(30 * MINUTE)
    made = logs_since(api, env, start)
    assert len(made) == 5
    assert all(log["level"] == "error" for log in made)
    assert all(log["date_created"] <= iso(replaced_at) for log in made)


def test_an_environment_without_a_profiled_build_logs_nothing_new(
    api: Api, seeded: Seeded, clock: Clock
) -> None:
    env = seeded.env("ivr-flows", "dev")
    clock.advance(60 * MINUTE)
    assert logs_since(api, env, clock.now - 30 * MINUTE) == []


def test_the_demo_seed_has_an_erring_build_live_on_stage_but_not_production(
    seeded: Seeded, clock: Clock
) -> None:
    stage = seeded.env("appointment-reminders", "stage")
    production = seeded.env("appointment-reminders", "production")
    profiles = seeded.store.traffic_profiles()
    assert stage.build_sid in profiles
    assert production.build_sid not in profiles
    # Half a minute more: the profile began at the seed, a fraction of a second ago.
    clock.advance(8 * MINUTE + 30)
    recent = seeded.store.logs(stage.sid, start=clock.now - 9 * MINUTE)
    assert len(recent) == 8
    assert sum(log.level == "error" for log in recent) == 2


def test_the_control_endpoint_appends_logs_that_the_logs_list_returns(
    api: Api, emulator: Emulator, seeded: Seeded
) -> None:
    env = seeded.env("ivr-flows", "dev")
    function_sid = seeded.store.logs(env.sid)[0].function_sid
    at = float(int(time.time())) - 300
    response = control(
        emulator,
        "POST",
        "/_emulator/logs",
        {
            "environment_sid": env.sid,
            "level": "error",
            "message": "<script>window.__xss = 1</script>",
            "count": 3,
            "function_sid": function_sid,
            "date_created": iso(at),
            "spacing_seconds": 60,
        },
    )
    assert response.status_code == 201, response.text
    sids = response.json()["logs"]
    assert len(sids) == 3
    listed = {log["sid"]: log for log in logs_since(api, env, at)}
    assert set(sids) <= set(listed)
    made = [listed[sid] for sid in sids]
    assert [log["date_created"] for log in made] == [iso(at), iso(at + 60), iso(at + 120)]
    assert {log["level"] for log in made} == {"error"}
    assert {log["function_sid"] for log in made} == {function_sid}
    # Attributed to what is live there, as a real invocation would be.
    assert {log["build_sid"] for log in made} == {env.build_sid}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"level": "fatal", "message": "x"}, "level"),
        ({"level": "error", "message": ""}, "message"),
        ({"level": "error", "message": "x", "count": 0}, "count"),
        ({"level": "error", "message": "x", "date_created": "yesterday"}, "date_created"),
        ({"level": "error", "message": "x", "colour": "red"}, "colour"),
    ],
)
def test_the_control_endpoint_refuses_logs_it_cannot_make(
    emulator: Emulator, seeded: Seeded, payload: dict, fragment: str
) -> None:
    env = seeded.env()
    before = len(seeded.store.logs(env.sid))
    response = control(emulator, "POST", "/_emulator/logs", {"environment_sid": env.sid, **payload})
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert len(seeded.store.logs(env.sid)) == before


def test_traffic_is_set_and_stopped_through_the_control_endpoint(
    api: Api, emulator: Emulator, seeded: Seeded, clock: Clock
) -> None:
    env = seeded.env("sms-notifications", "stage")
    build = seeded.deployable(env)
    path = f"/_emulator/builds/{build.sid}/traffic"
    response = control(emulator, "POST", path, {"error_rate": 1, "every_seconds": 30})
    assert response.status_code == 201, response.text
    assert build.sid in control(emulator, "GET", "/_emulator/traffic").json()["traffic"]
    start = clock.now
    deploy(api, env, build.sid)
    clock.advance(2 * MINUTE)
    assert control(emulator, "DELETE", path).status_code == 204
    clock.advance(10 * MINUTE)
    assert len(logs_since(api, env, start)) == 4  # made up to the DELETE, none after
    assert control(emulator, "POST", path, {"error_rate": 2}).status_code == 400


def test_traffic_profiles_survive_a_restart_from_the_state_file(tmp_path) -> None:
    store = Store(account_sid="AC" + "0" * 32, state_path=tmp_path / "state.json")
    store.reset("demo")
    profiles = store.traffic_profiles()
    assert profiles
    again = Store(account_sid="AC" + "0" * 32, state_path=tmp_path / "state.json")
    assert again.open() is True
    assert again.traffic_profiles() == profiles
