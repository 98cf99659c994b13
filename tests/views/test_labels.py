"""Release labels on the pages: set from the build page, shown beside the SID everywhere."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from deployments_app.models import BuildLabel

pytestmark = pytest.mark.django_db


def label(*args: str) -> None:
    call_command("label", *args, stdout=io.StringIO())


def test_the_label_shows_beside_the_sid_on_the_pages_that_name_the_build(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    stage = upstream.store.environment_named(service.sid, "stage")
    label(stage.build_sid, "v2.0.0 · abc1234", "--note", "menu timeout 8 s")

    build_page = manager_client.get(f"/services/{service.sid}/builds/{stage.build_sid}/")
    assert "v2.0.0 · abc1234" in build_page.content.decode()
    assert "menu timeout 8 s" in build_page.content.decode()
    env_page = manager_client.get(f"/services/{service.sid}/environments/{stage.sid}/")
    assert env_page.content.decode().count("v2.0.0 · abc1234") >= 2  # live build, history row
    row = manager_client.get(f"/overview/services/{service.sid}/", HTTP_HX_REQUEST="true")
    cell = row.content.decode().split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]
    assert "v2.0.0 · abc1234" in cell
    production = upstream.store.environment_named(service.sid, "production")
    dialog = manager_client.get(
        f"/actions/promote/?service={service.sid}&source={stage.sid}&target={production.sid}"
    )
    assert "v2.0.0 · abc1234" in dialog.content.decode()


def test_the_audit_shows_the_label_of_the_build_it_deployed(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    label(dev.build_sid, "v3.1.0 · 77aa001")
    manager_client.post(
        "/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}
    )
    audit = manager_client.get("/audit/").content.decode()
    assert "v3.1.0 · 77aa001" in audit


def test_a_release_manager_names_a_build_from_its_page(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    build = upstream.store.builds(service.sid)[0].sid
    url = f"/services/{service.sid}/builds/{build}/"
    response = manager_client.post(f"{url}label/", {"label": " v1.9.0  ", "note": "quieter"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert BuildLabel.objects.get(build_sid=build).label == "v1.9.0"
    page = manager_client.get(url).content.decode()
    assert "Label saved." in page
    assert 'value="v1.9.0"' in page


def test_an_oversized_label_is_named_and_what_was_typed_is_kept(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    build = upstream.store.builds(service.sid)[0].sid
    url = f"/services/{service.sid}/builds/{build}/label/"
    response = manager_client.post(url, {"label": "v1", "note": "n" * 400})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Note: at most 300 characters (you gave 400)." in body
    assert 'value="v1"' in body
    assert not BuildLabel.objects.exists()


def test_a_viewer_cannot_name_a_build_nor_sees_the_form(upstream, client, django_user_model):
    viewer = django_user_model.objects.create_user("vic", password="pw-vic-labels")
    viewer.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    client.force_login(viewer)
    service = upstream.store.service("ivr-flows")
    build = upstream.store.builds(service.sid)[0].sid
    url = f"/services/{service.sid}/builds/{build}/"
    assert client.post(f"{url}label/", {"label": "v9"}).status_code == 403
    assert not BuildLabel.objects.exists()
    assert 'name="label"' not in client.get(url).content.decode()
    assert client.get(f"{url}label/").status_code == 405  # GET never writes


def test_a_new_label_shows_on_the_very_next_overview_view(upstream, manager_client):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    row_url = f"/overview/services/{service.sid}/"
    assert "v4.0.0" not in manager_client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    manager_client.get("/")  # the overview's rows are cached now
    label(dev.build_sid, "v4.0.0")
    assert "v4.0.0" in manager_client.get("/").content.decode()
    assert "v4.0.0" in manager_client.get(row_url, HTTP_HX_REQUEST="true").content.decode()


def test_the_csv_carries_the_labels_beside_the_sids(upstream, manager_client):
    import csv

    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    label(dev.build_sid, "v5.0.0 · 1234abc")
    label(stage.build_sid, "v4.9.0 · fedcba9")
    manager_client.post(
        "/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}
    )
    body = b"".join(manager_client.get("/audit/export.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["Build SID"] == dev.build_sid
    assert rows[0]["Build label"] == "v5.0.0 · 1234abc"
    assert rows[0]["Label of the build before"] == "v4.9.0 · fedcba9"
