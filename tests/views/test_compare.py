"""The compare page, through HTTP against the emulator: two builds, or a build against
what is live somewhere, and the variables drift between two environments."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from serverless_emulator import Fault
from serverless_emulator.records import Dependency

pytestmark = pytest.mark.django_db

UNKNOWN_BUILD = "ZB" + "0" * 32
UNKNOWN_ENV = "ZE" + "0" * 32


def compare_url(service_sid: str, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/services/{service_sid}/compare/?{query}"


def counts(body: str) -> dict[str, int]:
    found = re.search(
        r'data-diff-summary data-added="(\d+)" data-removed="(\d+)" data-changed="(\d+)"', body
    )
    assert found, "no diff summary in the page"
    return dict(zip(("added", "removed", "changed"), map(int, found.groups()), strict=True))


def changes(body: str, section: str) -> list[tuple[str, str]]:
    """(change, path or package) of each item listed in a section of the page."""
    part = body.split(f'data-section="{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-change="(\w+)" data-(?:path|package)="([^"]+)"', part)


@pytest.fixture
def ivr(upstream):
    store = upstream.store
    service = store.service("ivr-flows")
    return store, service, {e.unique_name: e for e in store.environments(service.sid)}


@pytest.fixture
def head_build(ivr):
    """A completed build made from dev's live one: one function in a new version, one
    function made private, the last asset dropped, axios gone, a package added, and
    another runtime."""
    store, service, envs = ivr
    base = store.build(envs["dev"].build_sid)
    first, second, *rest = base.function_versions
    new_version = store.create_function_version(
        first.parent_sid, path=first.path, visibility=first.visibility, content="// v2"
    )
    private = store.create_function_version(
        second.parent_sid, path=second.path, visibility="private", content="// same"
    )
    deps = [d for d in base.dependencies if d.name != "axios"] + [Dependency("zod", "3.23.8")]
    head = store.create_build(
        service.sid,
        function_versions=[new_version.sid, private.sid, *(r.sid for r in rest)],
        asset_versions=[a.sid for a in base.asset_versions[:-1]],
        dependencies=deps,
        runtime="node18" if base.runtime != "node18" else "node20",
        status="completed",
    )
    return base, head, first.path, second.path, base.asset_versions[-1].path


def test_two_builds_are_compared_by_path_version_visibility_and_package(
    manager_client, ivr, head_build
):
    _, service, _ = ivr
    base, head, new_version_path, private_path, dropped_asset = head_build
    response = manager_client.get(compare_url(service.sid, base=base.sid, head=head.sid))
    body = response.content.decode()
    assert response.status_code == 200
    assert counts(body) == {"added": 1, "removed": 2, "changed": 2}
    assert sorted(changes(body, "functions")) == [
        ("changed", new_version_path),
        ("changed", private_path),
    ]
    assert changes(body, "assets") == [("removed", dropped_asset)]
    assert changes(body, "dependencies") == [("added", "zod"), ("removed", "axios")]
    assert "data-runtime-change" in body
    assert f'{base.runtime}</span> → <span class="mono">{head.runtime}' in body
    assert "data-nothing-changes" not in body
    # The version SIDs in full in the sections, the visibility change named.
    functions = body.split('data-section="functions"', 1)[1].split("</section>", 1)[0]
    assert head.function_versions[0].sid in functions
    assert "visibility</span> " in functions


def test_a_build_compared_with_itself_says_nothing_changes(manager_client, ivr):
    _, service, envs = ivr
    sid = envs["dev"].build_sid
    body = manager_client.get(compare_url(service.sid, base=sid, head=sid)).content.decode()
    assert "data-nothing-changes" in body
    assert "Nothing changes." in body
    assert counts(body) == {"added": 0, "removed": 0, "changed": 0}
    assert "No function changes." in body


def test_a_build_against_what_is_live_on_an_environment(manager_client, ivr):
    store, service, envs = ivr
    dev, production = envs["dev"], envs["production"]
    live = store.build(production.build_sid)
    url = compare_url(service.sid, head=dev.build_sid, environment=production.sid)
    body = manager_client.get(url).content.decode()
    assert "Live on production" in body
    base_side = body.split('data-side="base"', 1)[1].split("</section>", 1)[0]
    assert live.sid in base_side  # production's live build is the base
    assert re.search(r'aria-current="page">production<', body)
    # Offers the variables drift from each other environment into production.
    assert f"source={dev.sid}" in body


def test_against_an_environment_that_runs_nothing_everything_is_added(upstream, manager_client):
    store = upstream.store
    service = store.service("billing-webhooks")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    head = store.build(envs["dev"].build_sid)
    url = compare_url(service.sid, head=head.sid, environment=envs["production"].sid)
    body = manager_client.get(url).content.decode()
    assert "data-nothing-live" in body
    assert "Nothing is live there now" in body
    expected = len(head.function_versions) + len(head.asset_versions) + len(head.dependencies)
    assert counts(body) == {"added": expected, "removed": 0, "changed": 0}


def test_variables_drift_between_two_environments_is_masked(manager_client, ivr):
    store, service, envs = ivr
    dev, stage = envs["dev"], envs["stage"]
    url = compare_url(
        service.sid, base=stage.build_sid, head=dev.build_sid, source=dev.sid, target=stage.sid
    )
    body = manager_client.get(url).content.decode()
    # The seed: stage lacks FEATURE_CALLBACK_QUEUE; API_BASE_URL and LOG_LEVEL differ.
    drift = dict(re.findall(r'data-variable="(\w+)" data-drift="(\w+)"', body))
    assert drift == {
        "API_BASE_URL": "differs",
        "FEATURE_CALLBACK_QUEUE": "missing_in_target",
        "LOG_LEVEL": "differs",
        "MENU_TIMEOUT_SECONDS": "equal",
    }
    assert "missing on stage" in body
    for variable in store.variables(dev.sid) + store.variables(stage.sid):
        if len(variable.value) > 8:  # "8", "true", "debug" occur in any page by chance
            assert variable.value not in body


def test_variables_are_read_fresh_on_every_render_and_never_cached(manager_client, ivr):
    store, service, envs = ivr
    dev, stage = envs["dev"], envs["stage"]
    url = compare_url(service.sid, head=dev.build_sid, environment=stage.sid, source=dev.sid)
    first = manager_client.get(url).content.decode()
    assert 'data-variable="LOG_LEVEL" data-drift="differs"' in first
    level = next(v for v in store.variables(stage.sid) if v.key == "LOG_LEVEL")
    store.update_variable(level.sid, value="debug")  # now as on dev
    second = manager_client.get(url).content.decode()
    assert 'data-variable="LOG_LEVEL" data-drift="equal"' in second
    # Nothing the cache holds names a variable's value.
    stored = cache._cache  # type: ignore[attr-defined]
    if isinstance(stored, dict):  # local memory: its keys are already the full keys
        held = repr([cache.get(key) for key in list(stored)])
    else:  # Redis (make test's second pass): every value of this worker's database
        client = stored.get_client(write=False)
        held = repr([client.get(key) for key in client.keys("*")])
    assert "https://api.stage.example.com" not in held


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"head": "not-a-sid", "base": UNKNOWN_BUILD}, "Head build"),
        ({"base": UNKNOWN_BUILD}, "Head build"),
        ({"head": UNKNOWN_BUILD}, "Base build"),
        ({"head": UNKNOWN_BUILD, "base": UNKNOWN_BUILD, "environment": UNKNOWN_ENV}, "Base build"),
        ({"head": UNKNOWN_BUILD, "base": UNKNOWN_BUILD, "source": UNKNOWN_ENV}, "Variables target"),
        ({"head": UNKNOWN_BUILD, "environment": UNKNOWN_ENV, "target": UNKNOWN_ENV}, "source"),
        ({"head": UNKNOWN_BUILD, "environment": UNKNOWN_ENV, "source": UNKNOWN_ENV}, "different"),
        ({"head": UNKNOWN_BUILD, "environment": "ZB" + "1" * 32}, "Environment"),
    ],
)
def test_input_that_cannot_be_used_is_a_400_naming_the_field(manager_client, ivr, params, field):
    _, service, _ = ivr
    response = manager_client.get(compare_url(service.sid, **params))
    assert response.status_code == 400
    body = response.content.decode()
    assert "This link cannot be used" in body
    assert field in body


def test_sids_that_name_nothing_in_the_service_are_a_404_naming_them(manager_client, ivr):
    store, service, envs = ivr
    dev = envs["dev"]
    cases = {
        compare_url(service.sid, base=dev.build_sid, head=UNKNOWN_BUILD): UNKNOWN_BUILD,
        compare_url(service.sid, head=dev.build_sid, environment=UNKNOWN_ENV): UNKNOWN_ENV,
        compare_url(
            service.sid, base=dev.build_sid, head=dev.build_sid, source=dev.sid, target=UNKNOWN_ENV
        ): UNKNOWN_ENV,
        compare_url("ZS" + "0" * 32, base=dev.build_sid, head=dev.build_sid): "ZS" + "0" * 32,
    }
    # A build of another service is no build of this one.
    other = store.service("sms-notifications")
    other_build = store.environment_named(other.sid, "dev").build_sid
    cases[compare_url(service.sid, base=dev.build_sid, head=other_build)] = other_build
    for url, named in cases.items():
        response = manager_client.get(url)
        assert response.status_code == 404, url
        assert named in response.content.decode(), url


def test_an_upstream_failure_is_a_502_with_a_message_never_a_500(upstream, manager_client, ivr):
    _, service, envs = ivr
    dev = envs["dev"]
    upstream.faults.add(Fault(method=None, path=r"/Builds/", status=500, count=None))
    url = compare_url(service.sid, base=dev.build_sid, head=envs["stage"].build_sid)
    response = manager_client.get(url)
    assert response.status_code == 502
    assert 'role="alert"' in response.content.decode()


def test_the_page_needs_a_login_and_answers_get_only(client, manager_client, ivr):
    _, service, envs = ivr
    url = compare_url(service.sid, base=envs["dev"].build_sid, head=envs["dev"].build_sid)
    assert manager_client.post(url).status_code == 405
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_summary_folds_each_group_in_a_details(manager_client, ivr, head_build):
    _, service, _ = ivr
    base, head, *_ = head_build
    body = manager_client.get(compare_url(service.sid, base=base.sid, head=head.sid)).content
    summary = body.decode().split("data-diff-summary", 1)[1].split('data-section="functions"')[0]
    groups = re.findall(r'<details class="diff-group[^"]*" data-group="(\w+)"', summary)
    assert groups == ["functions", "assets", "dependencies"]
    assert "<details open" not in summary  # summarised: folded until asked


def test_reading_the_compare_page_writes_no_row(manager_client, ivr, head_build):
    from tests.views.test_reads_never_write import snapshot

    _, service, envs = ivr
    base, head, *_ = head_build
    dev, stage = envs["dev"], envs["stage"]
    urls = [
        compare_url(service.sid, base=base.sid, head=head.sid, source=dev.sid, target=stage.sid),
        compare_url(service.sid, head=head.sid, environment=stage.sid, source=dev.sid),
        compare_url(service.sid, head="garbage"),
        compare_url(service.sid, head=head.sid, environment=UNKNOWN_ENV),
    ]
    before = snapshot()
    statuses = [manager_client.get(url).status_code for url in urls]
    assert statuses == [200, 200, 400, 404]
    assert snapshot() == before
