"""Every read of the client against the running emulator (demo seed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from deployments_app.services.history import live_since_and_previous, newest_of
from deployments_app.services.serverless_errors import NotFound
from deployments_app.services.serverless_types import Build, Deployment, Environment, Service


def test_services_are_listed_by_sid_and_fetched_by_sid_or_unique_name(api, seed):
    services = api.service_list()
    assert len(services) >= 4
    assert all(isinstance(s, Service) for s in services)
    assert {s.sid for s in services} == {s.sid for s in seed.store.services()}
    ivr = seed.service("ivr-flows")
    assert api.service_get(service=ivr.sid).unique_name == "ivr-flows"
    by_name = api.service_get(service="ivr-flows")
    assert by_name.sid == ivr.sid
    assert by_name.date_created is not None
    assert by_name.date_created.tzinfo is not None


def test_requests_carry_basic_auth_and_a_user_agent_naming_the_project(api, emulator, recorded):
    api.service_list()
    sent = recorded()[-1]
    headers = {k.lower(): v for k, v in dict(sent.headers).items()}
    expected = base64.b64encode(f"{emulator.account_sid}:{emulator.auth_token}".encode()).decode()
    assert headers["authorization"] == f"Basic {expected}"
    assert headers["user-agent"].startswith("twilio-serverless-release-dashboard/")


def test_environments_of_a_service_and_one_environment(api, seed):
    ivr = seed.service("ivr-flows")
    envs = api.environment_list(service_sid=ivr.sid)
    assert {e.unique_name for e in envs} == {"dev", "stage", "production"}
    dev = next(e for e in envs if e.unique_name == "dev")
    fetched = api.environment_get(service_sid=ivr.sid, environment_sid=dev.sid)
    assert isinstance(fetched, Environment)
    assert fetched.build_sid == seed.env("ivr-flows", "dev").build_sid


def test_an_environment_with_nothing_deployed_has_no_build(api, seed):
    empty = seed.env("billing-webhooks", "production")
    env = api.environment_get(service_sid=empty.service_sid, environment_sid=empty.sid)
    assert env.build_sid is None
    assert env.domain_suffix is None
    page = api.deployment_page(service_sid=empty.service_sid, environment_sid=empty.sid)
    assert page.items == ()
    assert page.next_cursor is None
    history = list(api.deployment_iter(service_sid=empty.service_sid, environment_sid=empty.sid))
    assert live_since_and_previous(history, env.build_sid) == (None, None)


def test_one_deployment_and_a_missing_one(api, seed):
    dev = seed.env("ivr-flows", "dev")
    newest = seed.store.deployments(dev.sid)[0]
    deployment = api.deployment_get(
        service_sid=dev.service_sid, environment_sid=dev.sid, deployment_sid=newest.sid
    )
    assert isinstance(deployment, Deployment)
    assert deployment.build_sid == newest.build_sid
    with pytest.raises(NotFound) as caught:
        api.deployment_get(
            service_sid=dev.service_sid, environment_sid=dev.sid, deployment_sid="ZD" + "0" * 32
        )
    assert caught.value.status == 404
    assert caught.value.code == 20404
    assert caught.value.more_info
    assert caught.value.attempts == 1


def test_builds_paged_one_build_with_its_manifest_and_its_status(api, seed):
    ivr = seed.service("ivr-flows")
    builds = list(api.build_iter(service_sid=ivr.sid, page_size=2))
    assert {b.sid for b in builds} == {b.sid for b in seed.builds("ivr-flows")}
    page = api.build_page(service_sid=ivr.sid, page_size=2)
    assert len(page.items) == 2
    assert page.next_cursor
    completed = seed.builds("ivr-flows", "completed")[0]
    build = api.build_get(service_sid=ivr.sid, build_sid=completed.sid)
    assert isinstance(build, Build)
    assert build.is_completed
    assert build.function_versions
    assert all(v.sid.startswith("ZN") and v.path for v in build.function_versions)
    assert build.dependencies
    assert build.runtime
    status = api.build_status_get(service_sid=ivr.sid, build_sid=completed.sid)
    assert status.status == "completed"
    building = seed.builds("ivr-flows", "building")[0]
    assert api.build_status_get(service_sid=ivr.sid, build_sid=building.sid).status == "building"


def test_function_and_asset_versions(api, seed):
    ivr = seed.service("ivr-flows")
    build = api.build_get(
        service_sid=ivr.sid, build_sid=seed.builds("ivr-flows", "completed")[0].sid
    )
    function_sid = build.function_versions[0].function_sid
    assert function_sid
    functions = api.function_list(service_sid=ivr.sid)
    assert function_sid in {f.sid for f in functions}
    versions = api.function_version_list(service_sid=ivr.sid, function_sid=function_sid)
    assert build.function_versions[0].sid in {v.sid for v in versions}
    one = api.function_version_get(
        service_sid=ivr.sid, function_sid=function_sid, version_sid=versions[0].sid
    )
    assert one.function_sid == function_sid
    if build.asset_versions:
        asset_sid = build.asset_versions[0].asset_sid
        assert asset_sid
        assets = api.asset_version_list(service_sid=ivr.sid, asset_sid=asset_sid)
        assert build.asset_versions[0].sid in {v.sid for v in assets}
        one_asset = api.asset_version_get(
            service_sid=ivr.sid, asset_sid=asset_sid, version_sid=assets[0].sid
        )
        assert one_asset.asset_sid == asset_sid


def test_logs_paged_and_filtered_by_date_and_function(api, seed):
    dev = seed.env("ivr-flows", "dev")
    since = datetime.now(UTC) - timedelta(days=30)
    logs = list(
        api.log_iter(
            service_sid=dev.service_sid, environment_sid=dev.sid, start_date=since, page_size=20
        )
    )
    assert logs
    assert all(log.date_created and log.date_created >= since for log in logs)
    function_sid = next(log.function_sid for log in logs if log.function_sid)
    only = list(
        api.log_iter(
            service_sid=dev.service_sid,
            environment_sid=dev.sid,
            function_sid=function_sid,
            start_date=since,
        )
    )
    assert only
    assert {log.function_sid for log in only} == {function_sid}
    recent = datetime.now(UTC) - timedelta(hours=1)
    page = api.log_page(
        service_sid=dev.service_sid,
        environment_sid=dev.sid,
        start_date=since,
        end_date=recent,
        page_size=5,
    )
    assert all(log.date_created and log.date_created <= recent for log in page.items)
    if page.next_cursor:
        following = api.log_page(
            service_sid=dev.service_sid, environment_sid=dev.sid, cursor=page.next_cursor
        )
        assert {log.sid for log in following.items}.isdisjoint({log.sid for log in page.items})


def test_variables_of_an_environment(api, seed):
    dev = seed.env("ivr-flows", "dev")
    variables = api.variable_list(service_sid=dev.service_sid, environment_sid=dev.sid)
    assert variables
    assert all(v.key for v in variables)


def test_live_since_is_the_newest_deployment_of_the_live_build(api, seed):
    dev = seed.env("ivr-flows", "dev")
    environment, history = api.read_many(
        lambda read: read(),
        [
            lambda: api.environment_get(service_sid=dev.service_sid, environment_sid=dev.sid),
            lambda: list(
                api.deployment_iter(
                    service_sid=dev.service_sid, environment_sid=dev.sid, page_size=1000
                )
            ),
        ],
    )
    assert environment.build_sid == dev.build_sid
    live = newest_of(history, environment.build_sid)
    assert live is not None
    of_live = [d for d in seed.store.deployments(dev.sid) if d.build_sid == dev.build_sid]
    assert live.sid == max(of_live, key=lambda d: (d.date_created, d.seq)).sid
    assert live.date_created is not None
    assert live_since_and_previous(history, environment.build_sid)[0] == live


def test_environments_of_many_services_at_once(api, seed, emulator, recorded):
    sids = [s.sid for s in seed.store.services()]
    before = len(recorded())
    lists = api.read_many(lambda sid: api.environment_list(service_sid=sid), sids)
    assert [{e.service_sid for e in envs} for envs in lists] == [{sid} for sid in sids]
    assert all({e.unique_name for e in envs} >= {"dev", "stage", "production"} for envs in lists)
    assert len(recorded()) - before == len(sids)
