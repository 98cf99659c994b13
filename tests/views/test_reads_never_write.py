"""No GET changes state: every URL the dashboard serves, read as each role, writes no row.

The pages used to reconcile as a side effect of rendering (creating audit entries for
changes made outside, settling entries left by a dead worker, recording histories).
Here every one of those situations is set up, then every URL pattern is read, and every
table of the database is compared before and after.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, EnvironmentState
from deployments_app.services import deployments, reconcile
from deployments_app.services.locks import LOCK_SECONDS

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

# Tables whose rows a GET may legitimately touch: the session (login, messages).
IGNORED_TABLES = {"django_session"}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, as plain tuples."""
    tables = {}
    for model in apps.get_models():
        table = model._meta.db_table
        if table in IGNORED_TABLES:
            continue
        tables[table] = sorted((tuple(row) for row in model.objects.values_list()), key=repr)
    return tables


def walk_patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Every URL pattern's route, the admin's included."""
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += walk_patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


@pytest.fixture
def situation(upstream, django_user_model):
    """Everything a page read used to write for: outside changes, dead workers, history."""
    roles.ensure_role_groups()
    rita = django_user_model.objects.create_user("rita", password="pw-rita-reads")
    rita.groups.add(Group.objects.get(name=roles.RELEASE_MANAGER))
    store = upstream.store
    ivr = store.service("ivr-flows")
    dev = store.environment_named(ivr.sid, "dev")
    stage = store.environment_named(ivr.sid, "stage")
    production = store.environment_named(ivr.sid, "production")
    # A baseline, then a promotion and a clear through the dashboard.
    reconcile.account_reconcile()
    deployments.deployment_promote(
        actor=rita,
        service_sid=ivr.sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )
    portal = store.service("partner-portal")
    portal_stage = store.environment_named(portal.sid, "stage")
    deployments.environment_clear(
        actor=rita,
        service_sid=portal.sid,
        environment_sid=portal_stage.sid,
        confirmation="stage",
    )
    # Changed outside the dashboard since the last reconcile.
    earlier = next(
        d.build_sid
        for d in store.deployments(production.sid)
        if d.build_sid and d.build_sid != production.build_sid
    )
    store.deploy(production.sid, earlier)
    # An entry a worker left pending long ago, whose deployment landed.
    sms = store.service("sms-notifications")
    sms_dev = store.environment_named(sms.sid, "dev")
    AuditEntry.objects.create(
        created_at=timezone.now() - timedelta(seconds=LOCK_SECONDS + 5),
        action=AuditEntry.Action.REDEPLOY,
        actor="rita",
        service_sid=sms.sid,
        environment_sid=sms_dev.sid,
        build_sid=sms_dev.build_sid,
        previous_build_sid="",
        outcome=AuditEntry.Outcome.PENDING,
    )
    # A protected production elsewhere: one request waiting, one past its lifetime.
    from deployments_app.models import EnvironmentPolicy, PromotionRequest

    EnvironmentPolicy.objects.create(service_sid=portal.sid, environment_name="production")
    portal_prod = store.environment_named(portal.sid, "production")
    waiting = deployments.deployment_promote(
        actor=rita,
        service_sid=portal.sid,
        source_environment_sid=store.environment_named(portal.sid, "dev").sid,
        target_environment_sid=portal_prod.sid,
        reason="ship it",
    ).request
    stale = deployments.deployment_redeploy(
        actor=rita,
        service_sid=portal.sid,
        environment_sid=portal_prod.sid,
        build_sid=next(
            d.build_sid
            for d in store.deployments(portal_prod.sid)
            if d.build_sid and d.build_sid != portal_prod.build_sid
        ),
        reason="old",
    ).request
    PromotionRequest.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    # Deployments never recorded: made upstream since the last reconcile.
    store.deploy(dev.sid, earlier)
    return {
        "service": ivr,
        "dev": dev,
        "stage": stage,
        "production": production,
        "portal": portal,
        "portal_stage": portal_stage,
        "build": store.environment_named(ivr.sid, "stage").build_sid,
        "waiting": waiting,
        "stale": stale,
    }


ENV_ROUTE = "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/"


def urls_to_read(s) -> dict[str, list[str]]:
    """A GET for every URL pattern (route → the URLs read for it)."""
    service, dev, stage = s["service"], s["dev"], s["stage"]
    env_url = f"/services/{service.sid}/environments/{stage.sid}/"
    return {
        "": ["/", "/?q=ivr"],
        "overview/services/<service_sid:service_sid>/": [
            f"/overview/services/{service.sid}/",
            f"/overview/services/{s['portal'].sid}/",
        ],
        "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/": [
            env_url,
            f"/services/{service.sid}/environments/{s['production'].sid}/",
            f"/services/{s['portal'].sid}/environments/{s['portal_stage'].sid}/",
            env_url + "?page_size=10",
            env_url + "?page_size=abc",
        ],
        "services/<service_sid:service_sid>/builds/<build_sid:build_sid>/": [
            f"/services/{service.sid}/builds/{s['build']}/"
        ],
        "services/<service_sid:service_sid>/builds/<build_sid:build_sid>/label/": [
            f"/services/{service.sid}/builds/{s['build']}/label/"  # POST only: 405
        ],
        "services/<service_sid:service_sid>/compare/": [
            f"/services/{service.sid}/compare/?base={s['build']}&head={dev.build_sid}"
            f"&source={dev.sid}&target={stage.sid}",
            f"/services/{service.sid}/compare/?head={dev.build_sid}&environment={stage.sid}"
            f"&source={dev.sid}",
            f"/services/{service.sid}/compare/?head=garbage",
        ],
        ENV_ROUTE + "logs/": [
            env_url + "logs/",
            env_url + "logs/?level=error&window=7d",
            env_url + "logs/?level=nonsense",
        ],
        ENV_ROUTE + "health/": [
            env_url + "health/?since=2026-12-01T00:00:00Z",
            env_url + "health/",
        ],
        "actions/promote/": [
            f"/actions/promote/?service={service.sid}&source={dev.sid}&target={stage.sid}"
        ],
        "actions/redeploy/": [
            f"/actions/redeploy/?service={service.sid}&environment={stage.sid}&build={s['build']}"
        ],
        "actions/restore/": [
            f"/actions/restore/?service={s['portal'].sid}&environment={s['portal_stage'].sid}"
        ],
        "actions/clear/": [f"/actions/clear/?service={service.sid}&environment={stage.sid}"],
        "refresh/": ["/refresh/"],
        "approvals/": ["/approvals/"],
        "approvals/count/": ["/approvals/count/"],
        "approvals/<int:request_id>/": [
            f"/approvals/{s['waiting'].pk}/",
            f"/approvals/{s['stale'].pk}/",
        ],
        "approvals/<int:request_id>/<slug:decision>/": [
            f"/approvals/{s['waiting'].pk}/approve/",
            f"/approvals/{s['stale'].pk}/withdraw/",
        ],
        "audit/": [
            "/audit/",
            "/audit/?outcome=succeeded",
            "/audit/?page=99999",
            "/audit/?since=notadate",
        ],
        "audit/export.csv": ["/audit/export.csv", "/audit/export.csv?since=garbage"],
        "healthz": ["/healthz"],
        "favicon.ico": ["/favicon.ico"],
        "accounts/login/": ["/accounts/login/"],
        "accounts/logout/": ["/accounts/logout/"],
    }


def test_no_get_of_any_url_writes_a_row(situation, client, django_user_model):
    superuser = django_user_model.objects.create_superuser("sam", password="pw-sam-reads")
    viewer = django_user_model.objects.create_user("vic", password="pw-vic-reads")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client.force_login(superuser)
    as_viewer = Client()
    as_viewer.force_login(viewer)  # before the snapshot: signing in stamps last_login
    reads = urls_to_read(situation)
    dashboard_routes = [r for r in walk_patterns(get_resolver()) if not r.startswith("admin/")]
    assert sorted(dashboard_routes) == sorted(reads), "a new URL needs a GET case here"
    admin_urls = ["/admin/"] + [
        f"/admin/deployments_app/{model._meta.model_name}/"
        for model in apps.get_app_config("deployments_app").get_models()
    ]
    before = snapshot()
    assert AuditEntry.objects.filter(outcome=AuditEntry.Outcome.PENDING).exists()

    statuses = {}
    for url in [u for urls in reads.values() for u in urls] + admin_urls:
        for headers in ({}, HTMX):
            statuses[url, bool(headers)] = client.get(url, **headers).status_code
    # A viewer is refused every action's dialog (403), and the refusal writes nothing
    # either: a GET is not an attempt, so it leaves no audit entry.
    dialogs = [u for route, urls in reads.items() if route.startswith("actions/") for u in urls]
    viewer_statuses = {
        (url, bool(headers)): as_viewer.get(url, **headers).status_code
        for url in dialogs
        for headers in ({}, HTMX)
    }

    assert snapshot() == before
    assert set(viewer_statuses.values()) == {403}, viewer_statuses
    # Input that cannot be used is answered: a bad filter is a 400, a bad page or page
    # size falls back (with a note, tests/views/test_ignored_input.py).
    assert statuses["/audit/?since=notadate", False] == 400
    assert statuses["/audit/export.csv?since=garbage", False] == 400
    assert statuses["/audit/?page=99999", False] == 200
    assert all(status < 500 for status in statuses.values()), statuses
    assert statuses["/refresh/", False] == 405  # a POST only
    assert statuses[f"/approvals/{situation['waiting'].pk}/approve/", False] == 405
    assert statuses[f"/approvals/{situation['stale'].pk}/", False] == 200
    assert (
        statuses[
            f"/services/{situation['service'].sid}/environments/{situation['production'].sid}/",
            False,
        ]
        == 200
    )
    # What a reconcile would record is still unrecorded: the reads only showed it.
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXTERNAL).exists()
    state = EnvironmentState.objects.get(environment_sid=situation["production"].sid)
    assert state.expected_build_sid == situation["production"].build_sid


def test_the_outside_change_a_read_shows_is_recorded_by_a_reconcile(situation, client):
    client.login(username="rita", password="pw-rita-reads")
    production = situation["production"]
    url = f"/services/{situation['service'].sid}/environments/{production.sid}/"

    page = client.get(url).content.decode()
    assert 'data-note="external"' in page
    assert "not yet in the audit" in page

    report = reconcile.account_reconcile()

    assert report.outside_changes == 2  # production, and dev
    assert report.entries_settled == 1
    assert report.deployments_recorded >= 2
    page = client.get(url).content.decode()
    assert "recorded in the audit" in page
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXTERNAL).count() == 2
