"""Builds: created `building`, completed after build_seconds, or failed by a test."""

from __future__ import annotations

import json
import time

import pytest

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded, env_path
from tests.fixtures.emulator import TEST_BUILD_SECONDS


def new_build(api: Api, seeded: Seeded, **extra: str) -> dict:
    service = seeded.service()
    function = seeded.store.functions(service.sid)[0]
    version = seeded.store.function_versions(function.sid)[0]
    data = {
        "FunctionVersions": [version.sid],
        "Dependencies": json.dumps([{"name": "twilio", "version": "5.3.1"}]),
        "Runtime": "node22",
        **extra,
    }
    response = api.post(f"/v1/Services/{service.sid}/Builds", data)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_status(api: Api, build: dict, status: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = api.get(build["links"]["build_status"]).json()
        if current["status"] == status or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def test_a_new_build_is_building_then_completed(api: Api, seeded: Seeded) -> None:
    build = new_build(api, seeded)
    assert build["status"] == "building"
    version = seeded.store.function_versions(build["function_versions"][0]["function_sid"])[0]
    assert build["function_versions"][0]["sid"] == version.sid
    assert build["function_versions"][0]["path"] == version.path
    assert build["dependencies"] == [{"name": "twilio", "version": "5.3.1"}]
    assert build["asset_versions"] == []

    status = wait_for_status(api, build, "completed")

    assert status["status"] == "completed"
    assert status["sid"] == build["sid"]
    assert api.get(build["url"]).json()["status"] == "completed"


def test_completion_takes_build_seconds(api: Api, seeded: Seeded) -> None:
    started = time.monotonic()
    build = new_build(api, seeded)
    wait_for_status(api, build, "completed")
    assert time.monotonic() - started >= TEST_BUILD_SECONDS * 0.9


def test_build_seconds_zero_completes_at_once(emulator_factory) -> None:
    emu = emulator_factory(build_seconds=0)
    build = emu.store.create_build("ivr-flows")
    assert build.status == "completed"


def test_a_build_created_through_the_store_progresses_like_one_from_the_api(
    emulator: Emulator,
) -> None:
    build = emulator.store.create_build("ivr-flows", build_seconds=0.1)
    assert build.status == "building"
    time.sleep(0.15)
    assert emulator.store.build(build.sid).status == "completed"


def test_a_failed_build_stays_failed_and_cannot_be_deployed(
    api: Api, seeded: Seeded, emulator: Emulator
) -> None:
    build = new_build(api, seeded)
    emulator.store.fail_build(build["sid"])
    time.sleep(TEST_BUILD_SECONDS + 0.1)

    assert api.get(build["links"]["build_status"]).json()["status"] == "failed"
    stage = seeded.env(name="stage")
    assert api.post(env_path(stage, "/Deployments"), {"BuildSid": build["sid"]}).status_code == 400


def test_seeded_building_builds_never_complete(emulator: Emulator, seeded: Seeded) -> None:
    building = seeded.builds("ivr-flows", "building")
    assert building
    time.sleep(TEST_BUILD_SECONDS + 0.1)
    assert emulator.store.build(building[0].sid).status == "building"


def test_set_build_status_rejects_unknown_statuses(emulator: Emulator, seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="unknown build status"):
        emulator.store.set_build_status(seeded.builds()[0].sid, "queued")


def test_runtime_defaults_to_node22(api: Api, seeded: Seeded) -> None:
    response = api.post(f"/v1/Services/{seeded.service().sid}/Builds")
    assert response.status_code == 201
    assert response.json()["runtime"] == "node22"


def test_builds_list_newest_first_and_a_new_build_leads(api: Api, seeded: Seeded) -> None:
    build = new_build(api, seeded, Runtime="node20")
    listed = api.get(f"/v1/Services/{seeded.service().sid}/Builds", PageSize=3).json()["builds"]
    assert listed[0]["sid"] == build["sid"]
    assert listed[0]["runtime"] == "node20"


def test_deleting_a_build_that_is_not_live(api: Api, seeded: Seeded) -> None:
    build = new_build(api, seeded)
    assert api.delete(build["url"]).status_code == 204
    assert api.get(build["url"]).status_code == 404
