"""Where the compare page is reached from: the build page, the overview cell that offers a
promotion, and each history row that is not live."""

from __future__ import annotations

import html
import re

import pytest

pytestmark = pytest.mark.django_db


def links(body: str, attribute: str) -> dict[str, str]:
    found = re.findall(rf'<a[^>]*{attribute}="([^"]+)"[^>]*href="([^"]+)"', body)
    return {key: html.unescape(href) for key, href in found}


def test_the_promoting_cell_links_to_what_the_promotion_changes(
    upstream, client, django_user_model
):
    # A viewer too: knowing what differs needs no permission to act on it.
    client.force_login(django_user_model.objects.create_user("vic", password="pw-vic-links"))
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    row = client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    href = links(row.content.decode(), "data-compare")["stage"]
    assert f"head={dev.build_sid}" in href
    assert f"environment={stage.sid}" in href
    assert f"source={dev.sid}" in href
    page = client.get(href)
    assert page.status_code == 200
    assert "Variables drift" in page.content.decode()


def test_history_rows_and_the_build_page_link_to_a_comparison_with_live(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    stage = upstream.store.environment_named(service.sid, "stage")
    body = manager_client.get(f"/services/{service.sid}/environments/{stage.sid}/").content
    rows = links(body.decode(), "data-compare-row")
    assert rows
    assert stage.build_sid not in rows  # the live row has nothing to compare with
    build_sid, href = next(iter(rows.items()))
    assert manager_client.get(href).status_code == 200

    build = manager_client.get(f"/services/{service.sid}/builds/{build_sid}/").content.decode()
    envs = links(build, "data-compare-env")
    assert set(envs) == {e.unique_name for e in upstream.store.environments(service.sid)}
    assert manager_client.get(envs["production"]).status_code == 200
