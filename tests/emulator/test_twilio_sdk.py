"""The official twilio SDK (9.x), pointed at the emulator, works end to end.

The SDK builds every URL from `client.serverless.base_url` and then simply
follows each page's absolute `next_page_url`, so that one override suffices.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from serverless_emulator import Emulator
from tests.emulator.helpers import Seeded, sdk_client
from tests.spec import validate_request


@pytest.fixture
def twilio(emulator: Emulator) -> Iterator[Client]:
    client = sdk_client(emulator)
    yield client
    client.http_client.session.close()


def reads_of(emulator: Emulator, suffix: str) -> list:
    return [r for r in emulator.requests if r.method == "GET" and r.path.endswith(suffix)]


def test_sdk_lists_services_across_pages(
    twilio: Client, emulator: Emulator, seeded: Seeded
) -> None:
    services = twilio.serverless.v1.services.list(page_size=2)

    assert [s.sid for s in services] == [s.sid for s in seeded.store.services()]
    assert len(reads_of(emulator, "/v1/Services")) == 3
    partner = next(s for s in services if s.unique_name == "partner-portal")
    assert partner.friendly_name == '<script>alert("x")</script> & Partners'
    assert isinstance(partner.date_created, datetime)


def test_sdk_lists_environments_and_deployments_across_pages(
    twilio: Client, emulator: Emulator, seeded: Seeded
) -> None:
    service = twilio.serverless.v1.services("ivr-flows")
    environments = service.environments.list(page_size=1)
    assert [e.unique_name for e in environments] == ["dev", "stage", "production"]
    dev = environments[0]

    deployments = service.environments(dev.sid).deployments.list(page_size=50)

    assert [d.sid for d in deployments] == [d.sid for d in seeded.store.deployments(dev.sid)]
    assert len(reads_of(emulator, f"/Environments/{dev.sid}/Deployments")) == 4
    assert deployments[0].build_sid == dev.build_sid
    assert isinstance(deployments[0].date_created, datetime)
    for recorded in emulator.requests:
        validate_request(recorded)


def test_sdk_creates_a_deployment_and_reads_it_back(twilio: Client, seeded: Seeded) -> None:
    stage = seeded.env(name="stage")
    build = seeded.deployable(stage)
    environment = twilio.serverless.v1.services(stage.service_sid).environments(stage.sid)

    created = environment.deployments.create(build_sid=build.sid)

    assert created.build_sid == build.sid
    assert environment.fetch().build_sid == build.sid
    assert environment.deployments(created.sid).fetch().sid == created.sid
    assert environment.deployments.list(limit=1)[0].sid == created.sid


def test_sdk_clears_an_environment(twilio: Client, seeded: Seeded) -> None:
    dev = seeded.env()
    environment = twilio.serverless.v1.services("ivr-flows").environments(dev.sid)

    cleared = environment.deployments.create()

    assert cleared.build_sid is None
    assert environment.fetch().build_sid is None
    assert [d.sid for d in environment.deployments.list()] == [cleared.sid]


def test_sdk_surfaces_twilio_errors(twilio: Client, seeded: Seeded) -> None:
    dev = seeded.env()
    environment = twilio.serverless.v1.services("ivr-flows").environments(dev.sid)
    with pytest.raises(TwilioRestException) as conflict:
        environment.deployments.create(build_sid=dev.build_sid)
    assert (conflict.value.status, conflict.value.code) == (409, 20409)
    with pytest.raises(TwilioRestException) as missing:
        twilio.serverless.v1.services("ZS" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_sdk_builds_and_polls_status(twilio: Client, seeded: Seeded) -> None:
    service = twilio.serverless.v1.services("ivr-flows")
    function = service.functions.list(limit=1)[0]
    version = service.functions(function.sid).function_versions.list(limit=1)[0]

    build = service.builds.create(
        function_versions=[version.sid],
        dependencies=json.dumps([{"name": "axios", "version": "1.7.2"}]),
        runtime="node20",
    )
    assert build.status == "building"
    assert build.function_versions[0]["sid"] == version.sid
    deadline = time.monotonic() + 5
    while service.builds(build.sid).build_status().fetch().status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.builds(build.sid).fetch().status == "completed"


def test_sdk_reads_logs_and_variables(twilio: Client, seeded: Seeded) -> None:
    dev = seeded.env()
    environment = twilio.serverless.v1.services("ivr-flows").environments(dev.sid)

    recent = environment.logs.list()
    everything = environment.logs.list(start_date=datetime.now(UTC) - timedelta(days=7))
    variables = {v.key: v.value for v in environment.variables.list()}
    created = environment.variables.create(key="NEW_FLAG", value="on")
    updated = environment.variables(created.sid).update(value="off")

    assert 0 < len(recent) < len(everything)
    assert {log.level for log in everything} == {"info", "warn", "error"}
    assert variables["LOG_LEVEL"] == "debug"
    assert updated.value == "off"


def test_sdk_authenticates_with_an_api_key(emulator_factory) -> None:
    key, secret = "SK" + "c" * 32, "sdk-key-secret"
    emu = emulator_factory(api_keys={key: secret})
    client = sdk_client(emu, username=key, password=secret)
    try:
        assert len(client.serverless.v1.services.list()) == 5
    finally:
        client.http_client.session.close()
