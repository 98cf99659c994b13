"""A release manager's morning: the overview, an environment's history, a build."""

from __future__ import annotations

import re

import pytest

from serverless_emulator import Fault

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stage_names(page, service_sid: str) -> list[str]:
    return page.locator(f'article[aria-labelledby="service-{service_sid}"] .env-cell').evaluate_all(
        "cells => cells.map(c => c.dataset.environment)"
    )


def test_overview_shows_every_service_and_its_live_builds(page, live_server, upstream, sign_in):
    sign_in()
    services = upstream.store.services()
    assert page.locator("article.service").count() == len(services)
    for service in services:
        names = stage_names(page, service.sid)
        envs = {e.unique_name: e for e in upstream.store.environments(service.sid)}
        assert sorted(names) == sorted(envs)
        if {"dev", "stage", "production"} <= set(names):
            assert names.index("dev") < names.index("stage") < names.index("production")
        for env in envs.values():
            cell = page.locator(f"#cell-{env.sid}")
            if env.build_sid:
                assert cell.locator("a.live-build").get_attribute("title") == env.build_sid
            else:
                assert "Nothing deployed" in cell.inner_text()
    assert re.search(r"As of \d\d:\d\d:\d\d UTC", page.locator(".as-of").inner_text())


def test_filter_as_you_type_keeps_the_url_bookmarkable(page, live_server, upstream, sign_in):
    sign_in()
    target = upstream.store.services()[1]
    page.get_by_label("Filter services").press_sequentially(target.unique_name[:6], delay=30)
    page.wait_for_url(re.compile(r"\?q="))
    page.wait_for_function("() => document.querySelectorAll('article.service').length === 1")
    assert page.locator("article.service h2").inner_text() == target.friendly_name
    page.reload()
    assert page.locator("article.service").count() == 1


def test_service_names_render_as_text(page, live_server, upstream, sign_in):
    sign_in()
    tricky = next(s for s in upstream.store.services() if "<script>" in s.friendly_name)
    heading = page.locator(f"#service-{tricky.sid}")
    assert heading.inner_text() == tricky.friendly_name
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_unreadable_service_shows_inline_error_while_others_render(
    page, live_server, upstream, sign_in
):
    broken, *others = upstream.store.services()
    upstream.faults.add(
        Fault(
            method="GET", path=rf"/v1/Services/{broken.sid}/Environments$", status=503, count=None
        )
    )
    sign_in()
    row = page.locator(f'article[aria-labelledby="service-{broken.sid}"]')
    assert "Twilio did not answer properly" in row.get_by_role("alert").inner_text()
    for service in others:
        assert page.locator(f'article[aria-labelledby="service-{service.sid}"] .env-cell').count()


def test_load_more_walks_the_longest_history_to_its_end(page, live_server, upstream, sign_in):
    sign_in()
    _service, env = max(
        ((s, e) for s in upstream.store.services() for e in upstream.store.environments(s.sid)),
        key=lambda pair: len(upstream.store.deployments(pair[1].sid)),
    )
    expected = [d.sid for d in upstream.store.deployments(env.sid)]
    assert len(expected) > 150
    page.locator(f"#cell-{env.sid} .env-cell__name").click()
    page.wait_for_url(f"**/environments/{env.sid}/")
    before = len(upstream.requests)
    clicks = 0
    while page.locator("#load-more").count():
        page.locator("#load-more").click()
        clicks += 1
        want = min(50 * (clicks + 1), len(expected))
        page.wait_for_function(
            "n => document.querySelectorAll('tbody#history-body tr[data-deployment]').length >= n",
            arg=want,
        )
    page.get_by_text(f"That is all {len(expected)} deployments").wait_for()
    shown = page.locator("tbody#history-body tr[data-deployment]").evaluate_all(
        "rows => rows.map(r => r.dataset.deployment)"
    )
    assert shown == expected
    assert len(set(shown)) == len(shown)
    # One upstream list call per click, never a refetch of earlier pages.
    lists = [
        r
        for r in upstream.requests[before:]
        if r.method == "GET" and r.path.endswith("/Deployments")
    ]
    assert len(lists) == clicks
    assert page.locator("tr.is-live").count() == 1


def test_build_page_shows_manifest_and_where_it_runs(page, live_server, upstream, sign_in):
    sign_in()
    link = page.locator("a.live-build").first
    build_sid = link.get_attribute("title")
    link.click()
    page.wait_for_url(f"**/builds/{build_sid}/")
    build = upstream.store.build(build_sid)
    body = page.locator("main").inner_text()
    for version in build.function_versions:
        assert version.path in body
    running = [
        e.unique_name
        for s in upstream.store.services()
        for e in upstream.store.environments(s.sid)
        if e.build_sid == build_sid
    ]
    listed = page.locator("section[aria-labelledby=running-title] li a").all_inner_texts()
    assert sorted(listed) == sorted(running)


def test_every_page_fits_a_phone(page, live_server, upstream, sign_in):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in()
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    pages = {
        "overview": "/",
        "environment": f"/services/{service.sid}/environments/{dev.sid}/",
        "build": f"/services/{service.sid}/builds/{dev.build_sid}/",
        "audit": "/audit/",
    }
    for name, url in pages.items():
        page.goto(f"{live_server.url}{url}")
        page.screenshot(path=f"artifacts/screenshots/phone_{name}.png")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the {name} page scrolls sideways on a phone"


def test_overview_refreshes_itself_keeping_filter_and_scroll(
    page, live_server, upstream, reconciled, sign_in, settings
):
    # A change made outside shows once the cache's short lifetime has passed.
    settings.DASHBOARD_LIVE_CACHE_SECONDS = 2
    page.set_viewport_size({"width": 1366, "height": 400})
    sign_in()
    service = upstream.store.service("appointment-reminders")
    stage = upstream.store.environment_named(service.sid, "stage")
    prod = upstream.store.environment_named(service.sid, "production")
    page.get_by_label("Filter services").fill("appointment")
    page.wait_for_function("() => document.querySelectorAll('article.service').length === 1")
    page.evaluate("window.scrollTo(0, 150)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    before = page.locator(".as-of time").inner_text()
    upstream.store.deploy(prod.sid, stage.build_sid)  # changed outside, e.g. by the CLI
    page.wait_for_function(
        "([cell, sid]) => document.querySelector(cell + ' a.live-build')?.title === sid",
        arg=[f"#cell-{prod.sid}", stage.build_sid],
        timeout=15_000,
    )
    assert page.locator(".as-of time").inner_text() != before
    assert page.get_by_label("Filter services").input_value() == "appointment"
    assert page.locator("article.service").count() == 1
    assert page.evaluate("window.scrollY") == scrolled


def test_build_status_updates_live_while_building(page, live_server, upstream, sign_in):
    sign_in()
    service = upstream.store.service("ivr-flows")
    building = next(b for b in upstream.store.builds(service.sid) if b.status == "building")
    page.goto(f"{live_server.url}/services/{service.sid}/builds/{building.sid}/")
    status = page.locator("#build-status .badge")
    assert status.inner_text() == "building"
    upstream.store.set_build_status(building.sid, "completed")
    page.wait_for_function(
        "() => document.querySelector('#build-status .badge').textContent === 'completed'",
        timeout=6_000,
    )


def test_a_cold_overview_shows_what_is_live_first_and_fills_in_each_row(
    page, live_server, upstream, reconciled, django_user_model
):
    from django.contrib.auth.models import Group
    from django.core.cache import cache

    from tests.e2e.conftest import overview_settled

    user = django_user_model.objects.create_user("rita", password="pw-rita-cold")
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("pw-rita-cold")
    cache.clear()
    upstream.faults.latency_ms = 150  # Twilio is far away: the details take a while
    rows: list[str] = []
    page.on("request", lambda r: rows.append(r.url) if "/overview/services/" in r.url else None)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    # What is live is there at once; the rows say they are still reading.
    assert page.locator("article.service[aria-busy=true]").count() > 0
    assert page.locator("text=Reading its history…").count() > 0
    overview_settled(page)
    upstream.faults.latency_ms = 0
    services = upstream.store.services()
    assert len(rows) == len([s for s in services if upstream.store.environments(s.sid)])
    for service in services:
        for env in upstream.store.environments(service.sid):
            if env.build_sid:
                assert "Live since" in page.locator(f"#cell-{env.sid}").inner_text()
    page.screenshot(path="artifacts/screenshots/overview_cold_filled.png", full_page=True)
