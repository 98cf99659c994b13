"""The pipeline on the overview: how far each environment is behind, in builds, and the
next sensible promotion as one button (issue 11)."""

from __future__ import annotations

import re

import pytest

from deployments_app.services.history import builds_behind

pytestmark = pytest.mark.django_db


def row(client, service_sid: str) -> str:
    return client.get(f"/overview/services/{service_sid}/", HTTP_HX_REQUEST="true").content.decode()


def test_builds_behind_counts_what_the_source_ran_newer_than_the_target_live_build():
    from datetime import UTC, datetime

    created = {sid: datetime(2026, 1, day, tzinfo=UTC) for day, sid in enumerate("abcde", 1)}
    # The source ran e, d, c, b; the target runs b (and ran a): c, d and e are ahead of it.
    assert (
        builds_behind(
            source_ran=("e", "d", "c", "b"),
            target_ran=("b", "a"),
            target_build_sid="b",
            created=created,
        )
        == 3
    )
    # The target ran d before (and was rolled back to b): d is not new to it.
    assert (
        builds_behind(
            source_ran=("e", "d", "c"),
            target_ran=("b", "d"),
            target_build_sid="b",
            created=created,
        )
        == 2
    )
    # An empty target lacks all of them.
    assert (
        builds_behind(source_ran=("c", "b"), target_ran=(), target_build_sid=None, created=created)
        == 2
    )


def test_a_behind_cell_says_by_how_many_builds_and_the_service_offers_the_next_promotion(
    upstream, manager_client
):
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    body = row(manager_client, service.sid)
    stage_cell = body.split(f'id="cell-{envs["stage"].sid}"', 1)[1].split("</li>", 1)[0]
    behind = int(re.search(r'data-behind-by="(\d+)"', stage_cell).group(1))
    dev_ran = {d.build_sid for d in store.deployments(envs["dev"].sid) if d.build_sid}
    stage_ran = {d.build_sid for d in store.deployments(envs["stage"].sid) if d.build_sid}
    stage_date = store.build(envs["stage"].build_sid).date_created
    expected = [sid for sid in dev_ran - stage_ran if store.build(sid).date_created > stage_date]
    assert behind == len(expected) >= 1
    assert f"behind dev by {behind} build" in stage_cell
    # The first lagging pair is dev → stage: that is the one button.
    found = re.search(r'data-next-promotion="(\w+)"\s+href="([^"]+)"', body)
    assert found.group(1) == "dev"
    assert f"target={envs['stage'].sid}" in found.group(2).replace("&amp;", "&")
    assert "Next: dev → stage" in body


def test_no_next_promotion_when_every_environment_runs_the_same_build(upstream, manager_client):
    store = upstream.store
    service = store.service("sms-notifications")  # the seed: one build everywhere
    assert len({e.build_sid for e in store.environments(service.sid)}) == 1
    assert "data-next-promotion" not in row(manager_client, service.sid)


def test_a_viewer_gets_no_next_promotion_button(upstream, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("vic", password="pw-vic-next"))
    service = upstream.store.service("ivr-flows")
    body = row(client, service.sid)
    assert "data-behind-by" in body
    assert "data-next-promotion" not in body


def test_a_rolled_back_environment_is_not_offered_the_build_it_was_rolled_back_from(
    upstream, manager_client
):
    store = upstream.store
    service = store.service("ivr-flows")
    dev = store.environment_named(service.sid, "dev")
    stage = store.environment_named(service.sid, "stage")
    manager_client.post(
        "/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}
    )
    bad = dev.build_sid
    older = next(
        d.build_sid
        for d in store.deployments(stage.sid)
        if d.build_sid and d.build_sid != bad and store.build(d.build_sid).status == "completed"
    )
    manager_client.post(
        "/actions/redeploy/",
        {"service": service.sid, "environment": stage.sid, "build": older, "reason": "bad"},
    )
    body = row(manager_client, service.sid)
    assert 'data-note="rolled-back"' in body
    assert 'data-next-promotion="dev"' not in body
