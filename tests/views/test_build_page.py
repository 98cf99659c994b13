"""The build page: manifest, where it runs, live status, and where it can go next."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_a_live_build_can_be_promoted_to_any_later_environment(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    body = manager_client.get(f"/services/{service.sid}/builds/{dev.build_sid}/").content.decode()
    targets = re.findall(r'data-promote-target="([^"]+)"', body)
    assert targets == ["stage", "production"]
    assert f"source={dev.sid}" in body


def test_a_build_that_ran_before_offers_a_rollback_there(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    stage = upstream.store.environment_named(service.sid, "stage")
    older = next(
        d.build_sid
        for d in upstream.store.deployments(stage.sid)
        if d.build_sid != stage.build_sid
        and upstream.store.build(d.build_sid).status == "completed"
        and all(e.build_sid != d.build_sid for e in upstream.store.environments(service.sid))
    )
    body = manager_client.get(f"/services/{service.sid}/builds/{older}/").content.decode()
    assert "stage" in re.findall(r'data-redeploy-target="([^"]+)"', body)
    assert "data-promote-target" not in body  # it runs nowhere, so there is no source


def test_status_polls_while_building_and_stops_when_done(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    building = next(b for b in upstream.store.builds(service.sid) if b.status == "building")
    url = f"/services/{service.sid}/builds/{building.sid}/"
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "build-status"}
    partial = manager_client.get(url, **poll).content.decode()
    assert 'hx-trigger="every 2s"' in partial
    assert "<html" not in partial
    upstream.store.set_build_status(building.sid, "completed")
    partial = manager_client.get(url, **poll).content.decode()
    assert "completed" in partial
    assert "hx-trigger" not in partial


def test_the_refresh_after_an_action_gets_the_whole_page_to_swap(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    url = f"/services/{service.sid}/builds/{dev.build_sid}/"
    # The hidden listener for deploymentChanged swaps #build-page out of the answer.
    body = manager_client.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="build-page"
    ).content.decode()
    assert 'id="build-page"' in body
    assert 'id="running-title"' in body


def test_a_viewer_sees_no_deployment_buttons(upstream, client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("vic", password="pw-vic-1")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    client.force_login(user)
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    body = client.get(f"/services/{service.sid}/builds/{dev.build_sid}/").content.decode()
    assert "data-promote-target" not in body
    env_page = client.get(f"/services/{service.sid}/environments/{dev.sid}/").content.decode()
    assert "data-redeploy=" not in env_page
    assert "Clear environment" not in env_page


def test_history_page_size_is_a_choice_and_bad_values_fall_back(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    url = f"/services/{service.sid}/environments/{dev.sid}/"
    for asked, shown in [("25", 25), ("100", 100), ("1000", 180), ("7", 50), ("x", 50)]:
        body = manager_client.get(url, {"page_size": asked}).content.decode()
        assert body.count("data-deployment=") == shown, asked


def test_admin_pipeline_order_overrides_the_guess(upstream, manager_client):
    from deployments_app.models import ServicePipeline

    service = upstream.store.service("ivr-flows")
    ServicePipeline.objects.create(
        service_sid=service.sid, environment_order="stage, dev, production"
    )
    body = manager_client.get("/").content.decode()
    section = body.split(f'id="service-{service.sid}"', 1)[1].split("</article>", 1)[0]
    assert re.findall(r'data-environment="([^"]+)"', section) == ["stage", "dev", "production"]
