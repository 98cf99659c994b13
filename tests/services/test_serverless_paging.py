"""Paging: following next_page_url to the end, one-page reads with a cursor, and paging
while deployments are being created."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from deployments_app.services.serverless_errors import InvalidRequest


def deployment_reads(requests: list, env_sid: str) -> list:
    return [
        r
        for r in requests
        if r.method == "GET" and r.path.endswith(f"/Environments/{env_sid}/Deployments")
    ]


def query_of(recorded) -> dict:
    query = recorded.query
    if isinstance(query, str):
        return {k: v[-1] for k, v in parse_qs(query).items()}
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in dict(query).items()}


def test_iterating_follows_next_page_url_through_more_than_three_pages(
    api, seed, emulator, recorded
):
    dev = seed.env("ivr-flows", "dev")
    expected = [d.sid for d in seed.store.deployments(dev.sid)]
    assert len(expected) > 150

    got = [
        d.sid
        for d in api.deployment_iter(
            service_sid=dev.service_sid, environment_sid=dev.sid, page_size=50
        )
    ]

    assert sorted(got) == sorted(expected)
    reads = deployment_reads(recorded(), dev.sid)
    assert len(reads) == -(-len(expected) // 50) > 3
    # The first page is asked by size only; every later one is the upstream's own
    # next_page_url (a PageToken), never a page number we computed.
    assert "PageToken" not in query_of(reads[0])
    assert all("PageToken" in query_of(r) for r in reads[1:])


def test_each_page_with_a_cursor_costs_exactly_one_upstream_call(api, seed, emulator, recorded):
    dev = seed.env("ivr-flows", "dev")
    expected = [d.sid for d in seed.store.deployments(dev.sid)]
    got: list[str] = []
    cursor = None
    calls = 0
    while True:
        before = len(deployment_reads(recorded(), dev.sid))
        page = api.deployment_page(
            service_sid=dev.service_sid, environment_sid=dev.sid, page_size=40, cursor=cursor
        )
        assert len(deployment_reads(recorded(), dev.sid)) == before + 1
        calls += 1
        got.extend(d.sid for d in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert "127.0.0.1" not in cursor  # opaque, and no host inside
    assert got == expected  # the emulator lists newest first, like Twilio
    assert calls == -(-len(expected) // 40)


def test_a_cursor_for_one_environment_is_refused_for_another(api, seed):
    dev = seed.env("ivr-flows", "dev")
    stage = seed.env("ivr-flows", "stage")
    page = api.deployment_page(service_sid=dev.service_sid, environment_sid=dev.sid, page_size=5)
    assert page.next_cursor
    with pytest.raises(InvalidRequest):
        api.deployment_page(
            service_sid=stage.service_sid, environment_sid=stage.sid, cursor=page.next_cursor
        )


def test_a_service_read_by_unique_name_pages_on(api, seed):
    dev = seed.env("ivr-flows", "dev")
    page = api.deployment_page(service_sid="ivr-flows", environment_sid=dev.sid, page_size=100)
    assert page.next_cursor
    following = api.deployment_page(
        service_sid="ivr-flows", environment_sid=dev.sid, cursor=page.next_cursor
    )
    assert following.items


def _two_deployable_builds(seed, service_name: str, env) -> list[str]:
    completed = [b.sid for b in seed.builds(service_name, "completed") if b.sid != env.build_sid]
    assert len(completed) >= 2
    return completed[:2]


def test_iterating_while_deployments_are_created_sees_every_old_one_once(api, seed):
    dev = seed.env("ivr-flows", "dev")
    before = {d.sid for d in seed.store.deployments(dev.sid)}
    builds = _two_deployable_builds(seed, "ivr-flows", dev)

    seen: list[str] = []
    for index, deployment in enumerate(
        api.deployment_iter(service_sid=dev.service_sid, environment_sid=dev.sid, page_size=30)
    ):
        seen.append(deployment.sid)
        if index % 30 == 0 and index < 120:  # once per page, between page reads
            api.deployment_create(
                service_sid=dev.service_sid,
                environment_sid=dev.sid,
                build_sid=builds[(index // 30) % 2],
            )

    assert len(seen) == len(set(seen))
    assert before <= set(seen)
    assert len(seed.store.deployments(dev.sid)) == len(before) + 4


def test_cursor_paging_while_deployments_are_created_skips_and_repeats_nothing(api, seed):
    dev = seed.env("ivr-flows", "dev")
    before = [d.sid for d in seed.store.deployments(dev.sid)]
    builds = _two_deployable_builds(seed, "ivr-flows", dev)
    got: list[str] = []
    cursor = None
    turn = 0
    while True:
        page = api.deployment_page(
            service_sid=dev.service_sid, environment_sid=dev.sid, page_size=50, cursor=cursor
        )
        got.extend(d.sid for d in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        api.deployment_create(
            service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=builds[turn % 2]
        )
        turn += 1
    assert turn >= 3
    assert got == before
