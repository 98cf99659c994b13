"""The pages' cache: counted in upstream calls through HTTP, never stale after our own writes."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.core.management import call_command

from deployments_app.services import page_cache
from deployments_app.services.serverless import get_client
from serverless_emulator import Emulator

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def upstream_calls(emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests.snapshot() if "/v1/" in r.path]


def lazy_rows(body: str) -> list[str]:
    return re.findall(r'data-lazy-row hx-get="([^"]+)"', body)


def full_overview(client) -> str:
    """The overview as a browser ends up with it: the page, then each lazy row it asks for."""
    body = client.get("/").content.decode()
    for url in lazy_rows(body):
        response = client.get(url, **HTMX)
        assert response.status_code == 200, url
        row_id = re.search(r'id="(row-[^"]+)"', response.content.decode()).group(1)
        start = body.index(f'<article class="service service--pending" id="{row_id}"')
        end = body.index("</article>", start) + len("</article>")
        body = body[:start] + response.content.decode() + body[end:]
    return body


def named(upstream, service_name: str, env_name: str):
    service = upstream.store.service(service_name)
    return service, upstream.store.environment_named(service.sid, env_name)


def test_a_cold_overview_paints_what_is_live_and_loads_each_row_once(
    upstream, manager_client, settings
):
    settings.DASHBOARD_OVERVIEW_READ_AHEAD = False  # counted alone below
    services = upstream.store.services()
    upstream.requests.clear()
    body = manager_client.get("/").content.decode()
    # First paint: the service list and one environment list per service, nothing more.
    first_paint = upstream_calls(upstream)
    assert len(first_paint) == 1 + len(services)
    assert all(re.fullmatch(r"GET /v1/Services(/\w+/Environments)?", c) for c in first_paint)
    rows = lazy_rows(body)
    assert len(rows) == len([s for s in services if upstream.store.environments(s.sid)])
    for service in services:
        for env in upstream.store.environments(service.sid):
            if env.build_sid:  # the live build is there before the details
                cell = body.split(f'id="cell-{env.sid}"', 1)[1].split("</li>", 1)[0]
                assert env.build_sid in cell
    upstream.requests.clear()
    for url in rows:
        row = manager_client.get(url, **HTMX).content.decode()
        assert "data-lazy-row" not in row
        assert "Live since" in row or "Nothing deployed" in row or "no environments" in row
    # Each history and each build list once; no resource read twice in one page.
    details = upstream_calls(upstream)
    assert len(details) == len(set(details))
    live = [e for s in services for e in upstream.store.environments(s.sid) if e.build_sid]
    histories = [c for c in details if c.endswith("/Deployments")]
    assert len(histories) == len(live)


def test_the_first_paint_reads_its_rows_ahead_so_they_cost_no_more_calls(upstream, manager_client):
    services = upstream.store.services()
    live = [e for s in services for e in upstream.store.environments(s.sid) if e.build_sid]
    upstream.requests.clear()
    rows = lazy_rows(manager_client.get("/").content.decode())
    assert rows
    deadline = time.monotonic() + 10
    expected = len(live) + len({e.service_sid for e in live})  # histories, build lists
    while time.monotonic() < deadline:  # the read-ahead runs on the client's pool
        calls = upstream_calls(upstream)
        if len([c for c in calls if c.endswith(("/Deployments", "/Builds"))]) == expected:
            break
        time.sleep(0.05)
    time.sleep(0.1)  # the last answers stored
    upstream.requests.clear()
    for url in rows:
        row = manager_client.get(url, **HTMX).content.decode()
        assert "data-lazy-row" not in row
    assert upstream_calls(upstream) == []


def test_a_warm_overview_and_its_polls_cost_no_upstream_call(upstream, manager_client):
    full_overview(manager_client)
    upstream.requests.clear()
    body = manager_client.get("/").content.decode()
    poll = manager_client.get("/", **HTMX).content.decode()
    assert upstream_calls(upstream) == []
    assert lazy_rows(body) == []
    assert lazy_rows(poll) == []
    assert "Live since" in body
    assert 'id="overview-body"' in poll


def test_after_the_short_lifetime_only_the_lists_are_read_again(upstream, manager_client, settings):
    settings.DASHBOARD_LIVE_CACHE_SECONDS = 1
    full_overview(manager_client)
    time.sleep(1.1)
    upstream.requests.clear()
    body = manager_client.get("/").content.decode()
    calls = upstream_calls(upstream)
    # Services and environment lists again; the histories' facts and builds still hold.
    assert len(calls) == 1 + len(upstream.store.services())
    assert not any(c.endswith(("/Deployments", "/Builds")) for c in calls)
    assert lazy_rows(body) == []


def test_a_promotion_through_the_dashboard_shows_at_once_in_a_warm_cache(upstream, manager_client):
    service, dev = named(upstream, "ivr-flows", "dev")
    _, stage = named(upstream, "ivr-flows", "stage")
    env_url = f"/services/{service.sid}/environments/{stage.sid}/"
    full_overview(manager_client)
    manager_client.get(env_url)
    data = {"service": service.sid, "source": dev.sid, "target": stage.sid}
    assert manager_client.post("/actions/promote/", data, **HTMX).status_code == 200
    deployment = upstream.store.deployments(stage.sid)[0]
    upstream.requests.clear()
    body = full_overview(manager_client)
    cell = body.split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]
    assert dev.build_sid in cell
    assert "rita" in cell  # deployed by, from the new live deployment
    # Exactly what the write changed was read again: this service's environments and
    # stage's history; dev's and production's histories and other services stayed cached.
    assert sorted(upstream_calls(upstream)) == sorted(
        [
            f"GET /v1/Services/{service.sid}/Environments",
            f"GET /v1/Services/{service.sid}/Environments/{stage.sid}/Deployments",
        ]
    )
    assert deployment.sid in manager_client.get(env_url).content.decode()


def test_a_clear_from_the_cli_shows_at_once(upstream, manager_client, django_user_model):
    service, stage = named(upstream, "ivr-flows", "stage")
    env_url = f"/services/{service.sid}/environments/{stage.sid}/"
    assert stage.build_sid in manager_client.get(env_url).content.decode()
    call_command(
        "clear_environment", "ivr-flows", "stage", "--as", "rita", "--confirm", "stage", stdout=None
    )
    assert "Nothing deployed" in manager_client.get(env_url).content.decode()


def test_refresh_reads_twilio_again_instead_of_the_cache(upstream, manager_client):
    full_overview(manager_client)
    _service, stage = named(upstream, "ivr-flows", "stage")
    _, dev = named(upstream, "ivr-flows", "dev")
    upstream.store.deploy(stage.sid, dev.build_sid)  # outside the dashboard
    cell = manager_client.get("/").content.decode().split(f'id="cell-{stage.sid}"', 1)[1]
    assert dev.build_sid not in cell.split("</li>", 1)[0]  # cached: not seen yet
    manager_client.post("/refresh/", {"next": "/"}, **HTMX)
    upstream.requests.clear()
    body = full_overview(manager_client)
    assert dev.build_sid in body.split(f'id="cell-{stage.sid}"', 1)[1].split("</li>", 1)[0]
    assert "GET /v1/Services" in upstream_calls(upstream)


def test_every_page_says_as_of_when(upstream, manager_client):
    service, dev = named(upstream, "ivr-flows", "dev")
    pages = [
        "/",
        f"/services/{service.sid}/environments/{dev.sid}/",
        f"/services/{service.sid}/builds/{dev.build_sid}/",
    ]
    for url in pages:
        body = manager_client.get(url).content.decode()
        assert re.search(r"As of <time datetime=\"[^\"]+\">\d\d:\d\d:\d\d</time> UTC", body), url
        assert "Refresh from Twilio" in body, url


def test_load_more_is_one_upstream_call_for_every_page(upstream, manager_client):
    service, dev = named(upstream, "ivr-flows", "dev")
    store = upstream.store
    builds = [b.sid for b in store.builds(service.sid) if b.status == "completed"]
    with store.batch():
        for n in range(120):
            store.add_deployment_record(dev.sid, builds[n % len(builds)], date_created=1e9 + n)
    body = manager_client.get(
        f"/services/{service.sid}/environments/{dev.sid}/?page_size=25"
    ).content.decode()
    pages = 0
    while (more := re.search(r'hx-get="([^"]*cursor=[^"]+)"', body)) is not None:
        upstream.requests.clear()
        body = manager_client.get(more.group(1).replace("&amp;", "&"), **HTMX).content.decode()
        assert len(upstream_calls(upstream)) == 1, f"page {pages + 2}"
        pages += 1
    assert pages >= 4


def test_concurrent_identical_cold_reads_make_one_upstream_call(settings):
    with Emulator(seed="demo", latency_ms=150) as emulator:
        settings.TWILIO_SERVERLESS_BASE_URL = emulator.base_url
        settings.TWILIO_ACCOUNT_SID = emulator.account_sid
        settings.TWILIO_AUTH_TOKEN = emulator.auth_token
        service = emulator.store.services()[0]
        emulator.requests.clear()
        results: list[int] = []
        barrier = threading.Barrier(6)

        def view() -> None:
            barrier.wait()
            reads = page_cache.PageReads(get_client())
            results.append(len(reads.environments(service.sid)))

        threads = [threading.Thread(target=view) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert results == [len(emulator.store.environments(service.sid))] * 6
        assert upstream_calls(emulator) == [f"GET /v1/Services/{service.sid}/Environments"]


def test_a_read_that_began_before_a_write_is_never_served_after_it(upstream):
    """A slow read stores what it saw after the write forgot it: the next view reads again."""
    service, stage = named(upstream, "ivr-flows", "stage")
    client = get_client()
    before = page_cache.PageReads(client)
    stale = upstream.store.environments(service.sid)  # what the slow read saw
    original = client.environment_list

    def slow_list(*, service_sid: str):
        page_cache.forget_environment(client, service_sid=service_sid, environment_sid=stage.sid)
        return original(service_sid=service_sid)

    client.environment_list = slow_list  # the write lands while the read is in flight
    try:
        before.environments(service.sid)
    finally:
        client.environment_list = original
    upstream.requests.clear()
    page_cache.PageReads(client).environments(service.sid)
    assert upstream_calls(upstream) == [f"GET /v1/Services/{service.sid}/Environments"]
    assert stale  # the read happened


def account_of(emulator, services: int) -> None:
    """`services` services with dev, stage and production, each with builds and a history."""
    store = emulator.store
    with store.batch():
        for n in range(services):
            service = store.create_service(unique_name=f"svc-{n}", friendly_name=f"Service {n}")
            builds = [
                store.create_build(service.sid, status="completed", date_created=1e9 + i).sid
                for i in range(3)
            ]
            for i, name in enumerate(("dev", "stage", "production")):
                env = store.create_environment(
                    service.sid, unique_name=name, domain_suffix=name if i else None
                )
                for k in range(3 - i):
                    store.deploy(env.sid, builds[k], date_created=1e9 + 100 + k)


def warmed(emulator, settings, client, services: int) -> None:
    """The dashboard on an account of `services` services, with records, policies, a warm cache."""
    from django.core.cache import cache

    from deployments_app.services import reconcile
    from deployments_app.services.serverless import reset_client

    account_of(emulator, services)
    settings.TWILIO_SERVERLESS_BASE_URL = emulator.base_url
    settings.TWILIO_ACCOUNT_SID = emulator.account_sid
    settings.TWILIO_AUTH_TOKEN = emulator.auth_token
    cache.clear()
    reset_client()
    reconcile.account_reconcile()  # records, so that notes and "deployed by" have rows
    for n in range(services):
        call_command("protect", f"svc-{n}", "production", stdout=None)
    full_overview(client)


def test_the_overview_makes_the_same_queries_for_5_and_40_services(
    settings, manager_client, django_assert_num_queries, django_assert_max_num_queries
):
    with Emulator(seed="empty") as small:
        warmed(small, settings, manager_client, 5)
        with django_assert_max_num_queries(30) as queries:
            body = manager_client.get("/").content.decode()
        assert body.count("data-environment=") == 5 * 3
        assert lazy_rows(body) == []
    count = len(queries.captured_queries)
    assert count > 0
    with Emulator(seed="empty") as large:
        warmed(large, settings, manager_client, 40)
        with django_assert_num_queries(count):
            body = manager_client.get("/").content.decode()
        assert body.count("data-environment=") == 40 * 3
        assert lazy_rows(body) == []


def test_a_warm_overview_is_kept_rendered_until_our_records_change(
    upstream, manager_client, django_assert_max_num_queries
):
    _, prod = named(upstream, "ivr-flows", "production")
    full_overview(manager_client)
    first = manager_client.get("/").content.decode()
    # Kept rendered: the session, the user, the epochs and the rights; no records read.
    with django_assert_max_num_queries(8):
        again = manager_client.get("/").content.decode()
    section = 'id="overview-body"'
    assert again.split(section, 1)[1] == first.split(section, 1)[1]
    assert "badge--protected" not in first.split(f'id="cell-{prod.sid}"', 1)[1].split("</li>")[0]
    call_command("protect", "ivr-flows", "production", stdout=None)  # a write to our records
    after = manager_client.get("/").content.decode()
    assert "badge--protected" in after.split(f'id="cell-{prod.sid}"', 1)[1].split("</li>")[0]


def test_a_viewer_never_gets_the_buttons_kept_for_a_release_manager(
    upstream, manager_client, django_user_model
):
    from django.test import Client

    full_overview(manager_client)
    assert "Promote to" in manager_client.get("/").content.decode()
    viewer = Client()
    viewer.force_login(django_user_model.objects.create_user("vera", password="pw-vera-cache"))
    body = viewer.get("/").content.decode()
    assert "Promote to" not in body
    assert "Live since" in body


def test_every_response_says_how_long_the_server_took(upstream, manager_client):
    response = manager_client.get("/")
    assert re.fullmatch(r"app;dur=\d+\.\d", response["Server-Timing"])


def test_lists_read_again_and_unchanged_reuse_the_rendered_rows(
    upstream, manager_client, settings, monkeypatch
):
    from deployments_app import selectors

    settings.DASHBOARD_LIVE_CACHE_SECONDS = 1
    full_overview(manager_client)
    first = manager_client.get("/", **HTMX).content.decode()
    time.sleep(1.1)
    upstream.requests.clear()
    # The lists are read again (Twilio says the same): the rows are not rebuilt.
    monkeypatch.setattr(selectors, "overview", lambda **kw: pytest.fail("rows rebuilt"))
    second = manager_client.get("/", **HTMX).content.decode()
    assert len(upstream_calls(upstream)) == 1 + len(upstream.store.services())
    as_of = re.compile(r'<time datetime="([^"]+)"')
    assert as_of.search(second).group(1) != as_of.search(first).group(1)  # read again
    assert second.split("</p>", 1)[1] == first.split("</p>", 1)[1]
