"""Promote, roll back and clear against the emulator, with their refusals."""

from __future__ import annotations

import pytest

from deployments_app.services.serverless_errors import DeploymentRefused
from deployments_app.services.serverless_ops import clear, promote, rollback


def posts(requests: list) -> list:
    return [r for r in requests if r.method == "POST"]


def test_promote_deploys_the_source_live_build_to_the_target(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    stage = seed.env("ivr-flows", "stage")
    assert dev.build_sid != stage.build_sid

    result = promote(
        client=api,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )

    assert result.changed
    assert result.build_sid == dev.build_sid
    assert result.previous_build_sid == stage.build_sid
    assert result.deployment is not None
    assert result.deployment.build_sid == dev.build_sid
    assert result.deployment.environment_sid == stage.sid
    assert seed.env("ivr-flows", "stage").build_sid == dev.build_sid
    assert len(posts(recorded())) == 1
    assert posts(recorded())[0].form == {"BuildSid": [dev.build_sid]}


def test_promote_says_when_the_build_is_already_live_on_the_target(api, seed, emulator, recorded):
    dev = seed.env("sms-notifications", "dev")
    stage = seed.env("sms-notifications", "stage")
    assert dev.build_sid == stage.build_sid
    result = promote(
        client=api,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )
    assert result.already_live
    assert result.deployment is None
    assert posts(recorded()) == []


def test_twilio_409_already_deployed_becomes_an_already_live_result(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    result = api.deployment_create(
        service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=dev.build_sid
    )
    assert result.already_live
    assert [r.status for r in posts(recorded())] == [409]


def test_promote_refuses_when_the_target_is_the_source(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    with pytest.raises(DeploymentRefused) as caught:
        promote(
            client=api,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=dev.sid,
        )
    assert caught.value.reason == DeploymentRefused.REASON_SAME_ENVIRONMENT
    assert recorded() == []


def test_promote_refuses_when_the_source_has_nothing_live(api, seed, emulator, recorded):
    empty = seed.env("billing-webhooks", "production")
    stage = seed.env("billing-webhooks", "stage")
    with pytest.raises(DeploymentRefused) as caught:
        promote(
            client=api,
            service_sid=empty.service_sid,
            source_environment_sid=empty.sid,
            target_environment_sid=stage.sid,
        )
    assert caught.value.reason == DeploymentRefused.REASON_NOTHING_LIVE
    assert "production" in caught.value.user_message
    assert posts(recorded()) == []


def test_promote_refuses_a_build_that_is_not_completed(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    stage = seed.env("ivr-flows", "stage")
    emulator.store.set_build_status(dev.build_sid, "building")
    with pytest.raises(DeploymentRefused) as caught:
        promote(
            client=api,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=stage.sid,
        )
    assert caught.value.reason == DeploymentRefused.REASON_BUILD_NOT_COMPLETED
    assert posts(recorded()) == []


@pytest.mark.parametrize(
    ("service", "source", "target"),
    [
        ("ZS123", "ZE" + "0" * 32, "ZE" + "1" * 32),
        ("ZS" + "0" * 32, "ZEnot-a-sid", "ZE" + "1" * 32),
        ("ZS" + "0" * 32, "ZE" + "0" * 32, "ZB" + "1" * 32),
    ],
)
def test_promote_refuses_malformed_sids_without_calling_twilio(
    api, emulator, service, source, target, recorded
):
    with pytest.raises(DeploymentRefused) as caught:
        promote(
            client=api,
            service_sid=service,
            source_environment_sid=source,
            target_environment_sid=target,
        )
    assert caught.value.reason == DeploymentRefused.REASON_MALFORMED_SID
    assert recorded() == []


def _older_completed_build_in_history(seed, emulator, env) -> str:
    completed = {b.sid for b in seed.store.builds(env.service_sid) if b.status == "completed"}
    history = [d.build_sid for d in emulator.store.deployments(env.sid)]
    return next(sid for sid in history if sid != env.build_sid and sid in completed)


def test_rollback_redeploys_an_earlier_build_of_the_environment(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    earlier = _older_completed_build_in_history(seed, emulator, dev)
    result = rollback(
        client=api, service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=earlier
    )
    assert result.changed
    assert result.previous_build_sid == dev.build_sid
    assert result.deployment is not None
    assert result.deployment.build_sid == earlier
    assert seed.env("ivr-flows", "dev").build_sid == earlier
    assert len(posts(recorded())) == 1


def test_rollback_to_the_live_build_says_it_is_already_live(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    result = rollback(
        client=api, service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=dev.build_sid
    )
    assert result.already_live
    assert posts(recorded()) == []


@pytest.mark.parametrize("status", ["building", "failed"])
def test_rollback_refuses_a_build_that_is_not_completed(api, seed, emulator, status, recorded):
    ivr = seed.service("ivr-flows")
    dev = seed.env("ivr-flows", "dev")
    build = seed.builds("ivr-flows", status)[0]
    with pytest.raises(DeploymentRefused) as caught:
        rollback(client=api, service_sid=ivr.sid, environment_sid=dev.sid, build_sid=build.sid)
    assert caught.value.reason == DeploymentRefused.REASON_BUILD_NOT_COMPLETED
    assert posts(recorded()) == []


def test_rollback_refuses_a_build_of_another_service(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    other = seed.builds("partner-portal", "completed")[0]
    with pytest.raises(DeploymentRefused) as caught:
        rollback(
            client=api, service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=other.sid
        )
    assert caught.value.reason == DeploymentRefused.REASON_BUILD_OF_OTHER_SERVICE
    assert posts(recorded()) == []


def test_rollback_refuses_a_build_never_deployed_to_the_environment(api, seed, emulator, recorded):
    production = seed.env("ivr-flows", "production")
    history = {d.build_sid for d in emulator.store.deployments(production.sid)}
    never = [b.sid for b in seed.builds("ivr-flows", "completed") if b.sid not in history]
    assert never, "the demo seed has production behind dev"
    with pytest.raises(DeploymentRefused) as caught:
        rollback(
            client=api,
            service_sid=production.service_sid,
            environment_sid=production.sid,
            build_sid=never[0],
        )
    assert caught.value.reason == DeploymentRefused.REASON_BUILD_NOT_IN_HISTORY
    assert posts(recorded()) == []


def test_clear_deploys_nothing_and_a_second_clear_is_a_no_op(api, seed, emulator, recorded):
    production = seed.env("ivr-flows", "production")
    assert production.build_sid
    result = clear(client=api, service_sid=production.service_sid, environment_sid=production.sid)
    assert result.changed
    assert result.build_sid is None
    assert result.previous_build_sid == production.build_sid
    assert result.deployment is not None
    assert result.deployment.build_sid is None
    assert seed.env("ivr-flows", "production").build_sid is None
    again = clear(client=api, service_sid=production.service_sid, environment_sid=production.sid)
    assert again.already_live
    assert len(posts(recorded())) == 1
    assert posts(recorded())[0].form == {}
