"""The overview: every service, its environments in pipeline order, what is live."""

from __future__ import annotations

import re

import pytest

from serverless_emulator import Fault

pytestmark = pytest.mark.django_db


def test_overview_lists_every_service_with_live_builds(upstream, manager_client):
    response = manager_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for service in upstream.store.services():
        assert service.sid in body
        envs = upstream.store.environments(service.sid)
        for env in envs:
            assert f'id="cell-{env.sid}"' in body
            if env.build_sid:
                cell = body.split(f'id="cell-{env.sid}"', 1)[1].split("</li>", 1)[0]
                assert env.build_sid in cell


def test_environments_appear_in_pipeline_order(upstream, manager_client):
    body = manager_client.get("/").content.decode()
    for service in upstream.store.services():
        names = {e.unique_name for e in upstream.store.environments(service.sid)}
        if not {"dev", "stage", "production"} <= names:
            continue
        section = body.split(f'id="service-{service.sid}"', 1)[1].split("</article>", 1)[0]
        order = re.findall(r'data-environment="([^"]+)"', section)
        assert order.index("dev") < order.index("stage") < order.index("production")


def test_an_empty_environment_says_nothing_deployed(upstream, manager_client):
    body = manager_client.get("/").content.decode()
    empty = [
        e
        for s in upstream.store.services()
        for e in upstream.store.environments(s.sid)
        if not e.build_sid
    ]
    assert empty, "the demo seed has an environment with nothing deployed"
    cell = body.split(f'id="cell-{empty[0].sid}"', 1)[1].split("</li>", 1)[0]
    assert "Nothing deployed" in cell


def test_service_names_are_escaped(upstream, manager_client):
    body = manager_client.get("/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body
    assert "&amp; Partners" in body


def test_filter_returns_only_matching_services_as_a_partial_for_htmx(upstream, manager_client):
    services = upstream.store.services()
    target = services[0]
    response = manager_client.get("/", {"q": target.unique_name}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="overview-body"' in body
    assert target.sid in body
    assert all(
        s.sid not in body for s in services if target.unique_name not in (s.unique_name or "")
    )


def test_one_unreadable_service_shows_its_error_inline_while_the_rest_render(
    upstream, manager_client
):
    broken, *others = upstream.store.services()
    upstream.faults.add(
        Fault(
            method="GET", path=rf"/v1/Services/{broken.sid}/Environments$", status=503, count=None
        )
    )
    response = manager_client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    section = body.split(f'id="service-{broken.sid}"', 1)[1].split("</article>", 1)[0]
    assert "Twilio did not answer properly" in section
    for service in others:
        envs = [e for e in upstream.store.environments(service.sid) if e.build_sid]
        assert envs[0].build_sid in body


def test_services_list_failure_is_a_message_not_a_500(upstream, manager_client):
    upstream.faults.add(Fault(method="GET", path=r"/v1/Services$", status=401, count=None))
    response = manager_client.get("/")
    assert response.status_code == 200
    assert "Check TWILIO_ACCOUNT_SID" in response.content.decode()


def test_rate_limit_message_names_the_wait(upstream, manager_client):
    upstream.faults.add(
        Fault(method="GET", path=r"/v1/Services$", status=429, retry_after=30, count=None)
    )
    body = manager_client.get("/").content.decode()
    assert "try again in 30 s" in body


def test_htmx_history_restore_gets_the_whole_page(upstream, manager_client):
    response = manager_client.get(
        "/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()
