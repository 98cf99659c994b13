"""The promote, redeploy and approval screens show what they would change (issue 11)."""

from __future__ import annotations

import re

import pytest

from deployments_app.models import EnvironmentPolicy, PromotionRequest
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "dialog-body"}


@pytest.fixture
def ivr(upstream):
    store = upstream.store
    service = store.service("ivr-flows")
    return store, service, {e.unique_name: e for e in store.environments(service.sid)}


def summary_counts(body: str) -> dict[str, int]:
    found = re.search(
        r'data-diff-summary data-added="(\d+)" data-removed="(\d+)" data-changed="(\d+)"', body
    )
    assert found, "no diff summary in the page"
    return dict(zip(("added", "removed", "changed"), map(int, found.groups()), strict=True))


def expected_counts(manager_client, service, head_sid: str, base_sid: str) -> dict[str, int]:
    # The compare page's own figures, which tests/views/test_compare.py checks against the
    # emulator's records: the dialog must say the same.
    page = manager_client.get(f"/services/{service.sid}/compare/?head={head_sid}&base={base_sid}")
    return summary_counts(page.content.decode())


def test_the_promote_dialog_shows_the_code_diff_and_the_variables_drift(manager_client, ivr):
    store, service, envs = ivr
    dev, stage = envs["dev"], envs["stage"]
    url = f"/actions/promote/?service={service.sid}&source={dev.sid}&target={stage.sid}"
    body = manager_client.get(url, **HTMX).content.decode()
    assert "What changes on stage" in body
    assert summary_counts(body) == expected_counts(
        manager_client, service, dev.build_sid, stage.build_sid
    )
    drift = dict(re.findall(r'data-variable="(\w+)" data-drift="(\w+)"', body))
    assert drift["FEATURE_CALLBACK_QUEUE"] == "missing_in_target"
    for variable in store.variables(dev.sid) + store.variables(stage.sid):
        if len(variable.value) > 8:
            assert variable.value not in body
    assert f"head={dev.build_sid}" in body  # the link to the whole comparison


def test_the_redeploy_dialog_shows_what_going_back_changes(manager_client, ivr):
    store, service, envs = ivr
    stage = envs["stage"]
    older = next(
        d.build_sid
        for d in store.deployments(stage.sid)
        if d.build_sid
        and d.build_sid != stage.build_sid
        and store.build(d.build_sid).status == "completed"
    )
    url = f"/actions/redeploy/?service={service.sid}&environment={stage.sid}&build={older}"
    body = manager_client.get(url, **HTMX).content.decode()
    assert "What changes on stage" in body
    assert summary_counts(body) == expected_counts(manager_client, service, older, stage.build_sid)
    assert "data-drift=" not in body  # the same environment: its variables do not move


def test_the_clear_dialog_has_no_diff(manager_client, ivr):
    _, service, envs = ivr
    body = manager_client.get(
        f"/actions/clear/?service={service.sid}&environment={envs['dev'].sid}", **HTMX
    ).content.decode()
    assert "data-changes" not in body


def test_the_dialog_still_opens_when_the_changes_cannot_be_read(upstream, manager_client, ivr):
    _, service, envs = ivr
    dev, stage = envs["dev"], envs["stage"]
    upstream.faults.add(Fault(method="GET", path=r"/Variables$", status=503, count=None))
    url = f"/actions/promote/?service={service.sid}&source={dev.sid}&target={stage.sid}"
    response = manager_client.get(url, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-changes-unknown" in body
    assert 'type="submit"' in body


def test_the_approver_sees_the_diff_of_an_open_request(manager_client, ivr):
    _, service, envs = ivr
    stage, production = envs["stage"], envs["production"]
    EnvironmentPolicy.objects.create(service_sid=service.sid, environment_name="production")
    manager_client.post(
        "/actions/promote/",
        {"service": service.sid, "source": stage.sid, "target": production.sid, "reason": "REL-1"},
    )
    request = PromotionRequest.objects.get()
    body = manager_client.get(f"/approvals/{request.pk}/").content.decode()
    assert "What changes on production" in body
    assert summary_counts(body) == expected_counts(
        manager_client, service, stage.build_sid, production.build_sid
    )
