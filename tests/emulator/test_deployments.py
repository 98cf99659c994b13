"""Deploying, refusing, clearing: the rules of POST .../Deployments."""

from __future__ import annotations

import pytest

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded, env_path
from tests.spec import validate_error


def test_deploying_a_completed_build_makes_it_live(api: Api, seeded: Seeded) -> None:
    stage = seeded.env(name="stage")
    build = seeded.deployable(stage)

    response = api.post(env_path(stage, "/Deployments"), {"BuildSid": build.sid})

    assert response.status_code == 201
    deployment = response.json()
    assert deployment["build_sid"] == build.sid
    assert deployment["environment_sid"] == stage.sid
    assert deployment["url"].endswith(f"/Deployments/{deployment['sid']}")
    assert api.get(env_path(stage)).json()["build_sid"] == build.sid
    assert seeded.store.environment(stage.sid).build_sid == build.sid
    newest = api.get(env_path(stage, "/Deployments"), PageSize=1).json()["deployments"][0]
    assert newest == deployment
    assert api.get(deployment["url"]).json() == deployment


def test_redeploying_the_live_build_is_409_20409(api: Api, seeded: Seeded) -> None:
    dev = seeded.env()
    before = len(seeded.store.deployments(dev.sid))

    response = api.post(env_path(dev, "/Deployments"), {"BuildSid": dev.build_sid})

    body = validate_error(409, response.content)
    assert body["code"] == 20409
    assert body["message"] == "Environment already has requested deployment"
    assert len(seeded.store.deployments(dev.sid)) == before


@pytest.mark.parametrize(
    ("service", "status"),
    [("ivr-flows", "building"), ("partner-portal", "building"), ("sms-notifications", "failed")],
)
def test_a_build_that_is_not_completed_is_refused_with_400(
    api: Api, seeded: Seeded, service: str, status: str
) -> None:
    env = seeded.env(service, "stage")
    build = seeded.builds(service, status)[0]
    before = len(seeded.store.deployments(env.sid))

    response = api.post(env_path(env, "/Deployments"), {"BuildSid": build.sid})

    body = validate_error(400, response.content)
    assert body["code"] == 20001
    assert build.sid in body["message"]
    assert status in body["message"]
    assert len(seeded.store.deployments(env.sid)) == before
    assert seeded.store.environment(env.sid).build_sid == env.build_sid


def test_a_build_of_another_service_is_refused_with_400(api: Api, seeded: Seeded) -> None:
    env = seeded.env("ivr-flows", "stage")
    foreign = seeded.builds("sms-notifications", "completed")[0]
    body = validate_error(
        400, api.post(env_path(env, "/Deployments"), {"BuildSid": foreign.sid}).content
    )
    assert body["code"] == 20001
    assert "does not belong" in body["message"]


def test_an_unknown_or_malformed_build_is_refused_with_400(api: Api, seeded: Seeded) -> None:
    env = seeded.env()
    unknown = api.post(env_path(env, "/Deployments"), {"BuildSid": "ZB" + "0" * 32})
    malformed = api.post(env_path(env, "/Deployments"), {"BuildSid": "build-42"})
    assert validate_error(400, unknown.content)["code"] == 20001
    assert validate_error(400, malformed.content)["code"] == 20001


def test_a_build_refused_while_building_deploys_once_completed(
    api: Api, seeded: Seeded, emulator: Emulator
) -> None:
    env = seeded.env(name="stage")
    build = seeded.store.set_build_status(seeded.deployable(env).sid, "building")
    path = env_path(env, "/Deployments")
    assert api.post(path, {"BuildSid": build.sid}).status_code == 400

    emulator.store.set_build_status(build.sid, "completed")

    assert api.post(path, {"BuildSid": build.sid}).status_code == 201


def test_deploying_without_a_build_clears_the_environment(api: Api, seeded: Seeded) -> None:
    dev = seeded.env()
    old = {d.sid for d in seeded.store.deployments(dev.sid)}

    response = api.post(env_path(dev, "/Deployments"))

    assert response.status_code == 201
    cleared = response.json()
    assert cleared["build_sid"] is None
    assert api.get(env_path(dev)).json()["build_sid"] is None
    # Earlier deployments are gone; only the clearing deployment remains.
    listed = api.get(env_path(dev, "/Deployments")).json()["deployments"]
    assert listed == [cleared]
    assert not old & {d["sid"] for d in listed}
    assert api.get(cleared["url"]).json() == cleared


def test_an_environment_deploys_again_after_a_clear(api: Api, seeded: Seeded) -> None:
    dev = seeded.env()
    api.post(env_path(dev, "/Deployments"))
    response = api.post(env_path(dev, "/Deployments"), {"BuildSid": dev.build_sid})
    assert response.status_code == 201
    assert [
        d["build_sid"] for d in api.get(env_path(dev, "/Deployments")).json()["deployments"]
    ] == [
        dev.build_sid,
        None,
    ]


def test_clearing_an_environment_with_nothing_deployed_still_answers_201(
    api: Api, seeded: Seeded
) -> None:
    empty = seeded.env("billing-webhooks", "production")
    response = api.post(env_path(empty, "/Deployments"))
    assert response.status_code == 201
    assert response.json()["build_sid"] is None


def test_deployments_address_the_service_by_unique_name(api: Api, seeded: Seeded) -> None:
    stage = seeded.env(name="stage")
    build = seeded.deployable(stage)
    path = f"/v1/Services/ivr-flows/Environments/{stage.sid}/Deployments"
    response = api.post(path, {"BuildSid": build.sid})
    assert response.status_code == 201
    # The answer names the service by SID, whatever the request used.
    assert response.json()["service_sid"] == stage.service_sid
    assert f"/v1/Services/{stage.service_sid}/" in response.json()["url"]


def test_the_store_handle_applies_the_same_rules(emulator: Emulator, seeded: Seeded) -> None:
    from serverless_emulator.errors import Conflict, InvalidParameter

    dev = seeded.env()
    with pytest.raises(Conflict):
        emulator.store.deploy(dev.sid, dev.build_sid)
    with pytest.raises(InvalidParameter):
        emulator.store.deploy(dev.sid, seeded.builds("ivr-flows", "building")[0].sid)
    deployment = emulator.store.deploy(dev.sid, seeded.deployable(dev).sid)
    assert emulator.store.deployments(dev.sid)[0] == deployment
    emulator.store.clear_environment(dev.sid)
    assert emulator.store.environment(dev.sid).build_sid is None
    assert emulator.store.live_build(dev.sid) is None
