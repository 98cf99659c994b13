"""The logs page and the deploy-health fragment, counted in upstream calls through HTTP."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = "<script>window.__xss = 1</script> & <b>bold</b>"


def logs_url(env) -> str:
    return f"/services/{env.service_sid}/environments/{env.sid}/logs/"


def health_url(env) -> str:
    return f"/services/{env.service_sid}/environments/{env.sid}/health/"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_calls(emulator) -> list:
    return [r for r in emulator.requests.snapshot() if r.path.endswith("/Logs")]


def upstream_calls(emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests.snapshot() if "/v1/" in r.path]


def shown_sids(body: str) -> list[str]:
    return re.findall(r'<tr data-log="(NO[0-9a-f]{32})"', body)


def shown_levels(body: str) -> list[str]:
    return re.findall(r'<tr data-log="NO[0-9a-f]{32}" data-level="([a-z]*)"', body)


def more_link(body: str) -> str | None:
    found = re.search(r'id="load-more"\s+href="[^"]+" hx-get="([^"]+)"', body)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def dev(upstream):
    return upstream.store.environment_named(upstream.store.service("ivr-flows").sid, "dev")


@pytest.fixture
def quiet(upstream):
    """billing-webhooks/production: no logs until a test adds them."""
    service = upstream.store.service("billing-webhooks")
    env = upstream.store.environment_named(service.sid, "production")
    assert upstream.store.logs(env.sid) == []
    return env


def add_logs(emulator, env, count: int, *, level=None, function_sid=None, start=None) -> None:
    """`count` logs in the last hour, one a second back from `start` (default: now)."""
    start = start or time.time() - 1
    levels = ("info", "warn", "error")
    with emulator.store.batch():
        for n in range(count):
            emulator.store.add_log(
                env.sid,
                level=level or levels[n % 3],
                message=f"line {n}",
                function_sid=function_sid,
                date_created=float(int(start - n)),
            )


def walk(client, emulator, body: str) -> tuple[list[str], str, int]:
    """Follow "Load more" to the end: (every row's SID, the rows' HTML, pages loaded)."""
    sids, rows, pages = shown_sids(body), body, 0
    while (url := more_link(body)) is not None:
        emulator.requests.clear()
        response = client.get(url, **HTMX)
        assert response.status_code == 200, url
        body = response.content.decode()
        calls = upstream_calls(emulator)
        assert len(calls) == 1, f"page {pages + 2}: {calls}"
        assert calls[0].endswith("/Logs"), calls
        sids += shown_sids(body)
        rows += body
        pages += 1
    return sids, rows, pages


def test_the_page_lists_the_last_day_newest_first_and_renders_messages_as_text(
    upstream, manager_client, dev
) -> None:
    upstream.store.add_log(dev.sid, level="error", message=XSS, date_created=time.time() - 5)
    response = manager_client.get(logs_url(dev))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>window.__xss" not in body
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body
    day_ago = time.time() - 86400
    expected = [log.sid for log in upstream.store.logs(dev.sid, start=day_ago + 5)]
    assert shown_sids(body) == expected  # the 24 h default window, newest first
    dates = re.findall(r'<time datetime="([^"]+)">', body)
    assert dates == sorted(dates, reverse=True)
    (call,) = log_calls(upstream)
    assert call.query["PageSize"] == ["50"]
    start = datetime.fromisoformat(call.query["StartDate"][0])
    assert abs((datetime.now(UTC) - start) - timedelta(hours=24)) < timedelta(minutes=1)


def test_load_more_is_one_upstream_call_per_page_until_every_line_is_shown(
    upstream, manager_client, dev
) -> None:
    add_logs(upstream, dev, 180)
    body = manager_client.get(logs_url(dev) + "?window=1h").content.decode()
    assert len(shown_sids(body)) == 50
    sids, rows, pages = walk(manager_client, upstream, body)
    expected = [log.sid for log in upstream.store.logs(dev.sid, start=time.time() - 3600 + 5)]
    assert sids == expected
    assert len(set(sids)) == len(sids)
    assert pages == 3
    assert f"That is all {len(expected)} log lines in this window." in rows


def test_load_more_without_javascript_is_the_whole_page_from_the_cursor(
    upstream, manager_client, dev
) -> None:
    add_logs(upstream, dev, 80)
    first = manager_client.get(logs_url(dev) + "?window=1h").content.decode()
    response = manager_client.get(more_link(first))  # the href: a normal page load
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "log-filters" in body
    assert not set(shown_sids(body)) & set(shown_sids(first))
    assert shown_sids(body)


def test_the_level_filter_shows_only_that_level_and_still_costs_one_call_per_page(
    upstream, manager_client, quiet
) -> None:
    add_logs(upstream, quiet, 900)  # a third of them errors
    body = manager_client.get(logs_url(quiet) + "?level=error&window=1h").content.decode()
    assert set(shown_levels(body)) == {"error"}
    # Twilio has no level filter: none is sent, and the page says it filters itself.
    (call,) = log_calls(upstream)
    assert "Level" not in call.query
    assert "level" not in call.query
    assert "Twilio cannot filter by level" in body
    sids, rows, _pages = walk(manager_client, upstream, body)
    assert set(shown_levels(rows)) == {"error"}
    errors = [
        log.sid
        for log in upstream.store.logs(quiet.sid, start=time.time() - 3600 + 5)
        if log.level == "error"
    ]
    assert sids == errors


def test_the_function_filter_offers_the_services_functions_and_is_sent_upstream(
    upstream, manager_client, dev
) -> None:
    functions = upstream.store.functions(dev.service_sid)
    chosen = functions[1]
    body = manager_client.get(logs_url(dev)).content.decode()
    for function in functions:
        assert f'<option value="{function.sid}">{function.friendly_name}</option>' in body
    upstream.requests.clear()
    body = manager_client.get(f"{logs_url(dev)}?function={chosen.sid}&window=7d").content.decode()
    (call,) = log_calls(upstream)
    assert call.query["FunctionSid"] == [chosen.sid]
    assert f'<option value="{chosen.sid}" selected>' in body
    expected = [
        log.sid
        for log in upstream.store.logs(dev.sid, start=time.time() - 7 * 86400 + 5)
        if log.function_sid == chosen.sid
    ]
    assert expected
    assert shown_sids(body) == expected
    assert f'data-label="Function">{chosen.friendly_name}</td>' in body


def test_the_window_filter_reads_the_last_hour_only(upstream, manager_client, dev) -> None:
    add_logs(upstream, dev, 3, start=time.time() - 60)
    body = manager_client.get(logs_url(dev) + "?window=1h").content.decode()
    (call,) = log_calls(upstream)
    start = datetime.fromisoformat(call.query["StartDate"][0])
    end = datetime.fromisoformat(call.query["EndDate"][0])
    assert abs((end - start) - timedelta(hours=1)) < timedelta(seconds=2)
    hour_ago = time.time() - 3600 + 5
    assert shown_sids(body) == [log.sid for log in upstream.store.logs(dev.sid, start=hour_ago)]
    assert '<option value="1h" selected>' in body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=fatal", "Level"),
        ("function=ZH123", "Function"),
        ("function=ZH" + "0" * 32, "Function"),  # well-formed, but not this service's
        ("window=3d", "Window"),
        ("since=yesterday", "Deployed at"),
        ("since=2999-01-01T00:00:00Z", "Deployed at"),
    ],
)
def test_a_filter_that_cannot_be_used_is_400_with_the_field_named(
    upstream, manager_client, dev, query, field
) -> None:
    response = manager_client.get(f"{logs_url(dev)}?{query}")
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(rf"<li>{field}: [^<]+</li>", body), body[-2000:]
    assert shown_sids(body) == []
    assert log_calls(upstream) == []


def test_a_load_more_with_a_filter_that_cannot_be_used_is_400_with_the_field_named(
    upstream, manager_client, dev
) -> None:
    add_logs(upstream, dev, 60)
    first = manager_client.get(logs_url(dev)).content.decode()
    url = more_link(first).replace("window=24h", "window=forever")
    upstream.requests.clear()
    response = manager_client.get(url, **HTMX)
    assert response.status_code == 400
    assert "Window:" in response.content.decode()
    assert log_calls(upstream) == []


def test_the_page_and_the_fragment_need_a_signed_in_user(upstream, client, dev) -> None:
    for url in (logs_url(dev), health_url(dev) + "?since=2025-01-01T00:00:00Z"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert log_calls(upstream) == []


def test_the_page_and_the_fragment_answer_get_only(upstream, manager_client, dev) -> None:
    assert manager_client.post(logs_url(dev)).status_code == 405
    assert manager_client.post(health_url(dev)).status_code == 405


def test_the_environment_page_links_to_its_logs(upstream, manager_client, dev) -> None:
    body = manager_client.get(f"/services/{dev.service_sid}/environments/{dev.sid}/")
    assert f'href="{logs_url(dev)}"' in body.content.decode()


def test_the_page_embeds_the_deploy_health_when_given_a_deploy_time(
    upstream, manager_client, dev
) -> None:
    since = iso(datetime.now(UTC) - timedelta(minutes=20))
    body = manager_client.get(f"{logs_url(dev)}?since={since}").content.decode()
    found = re.search(r'id="deploy-health"[^>]*hx-get="([^"]+)"', body)
    assert found, "no health slot"
    url = unescape(found.group(1))
    assert url.startswith(health_url(dev))
    assert manager_client.get(url, **HTMX).status_code == 200
    # The filters keep the deploy time.
    assert f'<input type="hidden" name="since" value="{since}">' in body
    assert 'id="deploy-health"' not in manager_client.get(logs_url(dev)).content.decode()


# --- the deploy-health fragment -------------------------------------------------------------


def test_the_fragment_shows_errors_since_the_deploy_beside_the_window_before(
    upstream, manager_client, quiet
) -> None:
    now = time.time()
    since = datetime.fromtimestamp(int(now) - 20 * 60, UTC)
    with upstream.store.batch():
        for minutes in (2, 5, 9):  # after the deploy
            upstream.store.add_log(
                quiet.sid,
                level="error",
                message="boom",
                date_created=since.timestamp() + 60 * minutes,
            )
        upstream.store.add_log(
            quiet.sid, level="info", message="fine", date_created=since.timestamp() - 60
        )
    response = manager_client.get(f"{health_url(quiet)}?since={iso(since)}", **HTMX)
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", "", response.content.decode())
    assert "3 errors since this deploy (0 in the 20 min before)" in text
    assert "Errors rose since this deploy" in text


def test_the_fragment_says_nothing_rose_when_errors_did_not(
    upstream, manager_client, quiet
) -> None:
    since = datetime.fromtimestamp(int(time.time()) - 600, UTC)
    upstream.store.add_log(
        quiet.sid, level="error", message="old", date_created=since.timestamp() - 60
    )
    body = manager_client.get(f"{health_url(quiet)}?since={iso(since)}", **HTMX).content.decode()
    text = re.sub(r"<[^>]+>", "", body)
    assert "0 errors since this deploy (1 in the 10 min before)" in text
    assert "rose" not in text
    assert 'data-rising="false"' in body


def test_the_fragment_is_cached_for_the_live_lifetime_by_environment_and_deploy_time(
    upstream, manager_client, quiet, settings
) -> None:
    settings.DASHBOARD_LIVE_CACHE_SECONDS = 60
    since = iso(datetime.now(UTC) - timedelta(minutes=5))
    manager_client.get(f"{health_url(quiet)}?since={since}", **HTMX)
    assert len(log_calls(upstream)) == 2  # the window after and the one before
    upstream.requests.clear()
    upstream.store.add_log(quiet.sid, level="error", message="new", date_created=time.time() - 1)
    body = manager_client.get(f"{health_url(quiet)}?since={since}", **HTMX).content.decode()
    assert log_calls(upstream) == []
    assert 'data-errors-after="0"' in body  # kept: not read again within the lifetime
    other = iso(datetime.now(UTC) - timedelta(minutes=6))
    body = manager_client.get(f"{health_url(quiet)}?since={other}", **HTMX).content.decode()
    assert len(log_calls(upstream)) == 2
    assert 'data-errors-after="1"' in body


@pytest.mark.parametrize("since", ["", "yesterday", "2999-01-01T00:00:00Z"])
def test_the_fragment_refuses_a_deploy_time_it_cannot_use_naming_the_field(
    upstream, manager_client, quiet, since
) -> None:
    response = manager_client.get(f"{health_url(quiet)}?since={since}", **HTMX)
    assert response.status_code == 400
    assert "Deployed at:" in response.content.decode()
    assert log_calls(upstream) == []


def test_reading_the_logs_page_and_the_fragment_writes_no_row(
    upstream, manager_client, dev
) -> None:
    """The route-by-route check (test_reads_never_write.py) for these two URLs."""
    from tests.views.test_reads_never_write import snapshot

    since = iso(datetime.now(UTC) - timedelta(minutes=10))
    manager_client.get(logs_url(dev))  # signs in and warms the caches first
    before = snapshot()
    for url in (
        logs_url(dev),
        f"{logs_url(dev)}?level=error&since={since}",
        f"{logs_url(dev)}?level=nonsense",
        f"{health_url(dev)}?since={since}",
        f"{health_url(dev)}?since=garbage",
    ):
        manager_client.get(url)
        manager_client.get(url, **HTMX)
    assert snapshot() == before
