"""The logs page in Chromium: Load more, the filters, the deploy-health line, two widths.

Screenshots for people to look at go to /tmp/shots/logs-*.png (the harness also saves
each test's last state under artifacts/screenshots/).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
ROWS = "tbody#logs-body tr[data-log]"
XSS = "<script>window.__xss = 1</script> TypeError: Cannot read properties of undefined"
LONG = "Error: upstream said " + "x" * 180 + " (a very long line that must wrap, not overflow)"


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"logs-{name}.png"), full_page=full_page)


def ivr_dev(upstream):
    service = upstream.store.service("ivr-flows")
    return upstream.store.environment_named(service.sid, "dev")


def fill(upstream, env, count: int) -> None:
    """`count` lines in the last hour, every level, two of them hostile or very long."""
    functions = upstream.store.functions(env.service_sid)
    now = int(time.time())
    with upstream.store.batch():
        for n in range(count):
            upstream.store.add_log(
                env.sid,
                level=("info", "warn", "error")[n % 3],
                message=XSS if n == 1 else LONG if n == 2 else f"Execution ended in {n} ms",
                function_sid=functions[n % len(functions)].sid,
                date_created=float(now - 30 * n - 5),
            )


def logs_url(live_server, env, query: str = "") -> str:
    return f"{live_server.url}/services/{env.service_sid}/environments/{env.sid}/logs/{query}"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_load_more_adds_the_next_page_of_rows_with_one_upstream_call(
    page, live_server, upstream, sign_in
) -> None:
    env = ivr_dev(upstream)
    fill(upstream, env, 110)
    page.set_viewport_size(DESKTOP)
    sign_in()
    page.goto(f"{live_server.url}/services/{env.service_sid}/environments/{env.sid}/")
    shot(page, "environment-link-1440")
    page.locator("#environment-logs").click()
    page.wait_for_url(re.compile(r"/logs/$"))
    assert page.locator(ROWS).count() == 50
    # The hostile message is text on the page, and ran nowhere.
    assert page.get_by_text(XSS).count() == 1
    assert page.evaluate("typeof window.__xss") == "undefined"
    shot(page, "1440")

    before = len(upstream.requests)
    page.locator("#load-more").click()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length > 50")
    assert page.locator(ROWS).count() == 100
    assert page.url.endswith("/logs/"), "Load more swaps rows in, it does not navigate"
    calls = [r for r in upstream.requests[before:] if r.path.endswith("/Logs")]
    assert len(calls) == 1
    assert len([r for r in upstream.requests[before:] if "/v1/" in r.path]) == 1
    sids = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.log)")
    assert len(set(sids)) == 100
    page.locator("#load-more").scroll_into_view_if_needed()
    shot(page, "1440-more")

    page.locator("#load-more").click()
    page.get_by_text("That is all").wait_for()
    assert page.locator(ROWS).count() >= 110


def test_the_level_filter_applies_in_place_and_keeps_a_bookmarkable_url(
    page, live_server, upstream, sign_in
) -> None:
    env = ivr_dev(upstream)
    fill(upstream, env, 60)
    sign_in()
    page.goto(logs_url(live_server, env))
    page.get_by_label("Level").select_option("error")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"level=error"))
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{ROWS}')].every(r => r.dataset.level === 'error')"
    )
    levels = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.level)")
    assert levels
    assert set(levels) == {"error"}
    assert "Twilio cannot filter by level" in page.locator("main").inner_text()
    page.reload()
    assert page.get_by_label("Level").input_value() == "error"


def test_the_deploy_health_line_loads_into_the_page_header(
    page, live_server, upstream, sign_in
) -> None:
    service = upstream.store.service("billing-webhooks")
    env = upstream.store.environment_named(service.sid, "production")
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    for minutes in (3, 8, 15):
        upstream.store.add_log(
            env.sid,
            level="error",
            message=f"Function /charge timed out after 10000ms ({minutes})",
            date_created=(since + timedelta(minutes=minutes)).timestamp(),
        )
    page.set_viewport_size(DESKTOP)
    sign_in()
    page.goto(logs_url(live_server, env, f"?since={since:%Y-%m-%dT%H:%M:%SZ}"))
    health = page.locator("#deploy-health [data-deploy-health]")
    health.wait_for()
    text = health.inner_text()
    assert "3 errors since this deploy (0 in the 20 min before)" in text
    assert "Errors rose since this deploy" in text
    shot(page, "health-1440")


def test_the_logs_page_fits_a_phone(page, live_server, upstream, sign_in) -> None:
    env = ivr_dev(upstream)
    fill(upstream, env, 70)
    page.set_viewport_size(PHONE)
    sign_in()
    page.goto(f"{live_server.url}/services/{env.service_sid}/environments/{env.sid}/")
    assert page.locator("#environment-logs").is_visible()
    shot(page, "environment-link-390")
    since = datetime.now(UTC) - timedelta(minutes=30)
    page.goto(logs_url(live_server, env, f"?since={since:%Y-%m-%dT%H:%M:%SZ}"))
    page.locator("#deploy-health [data-deploy-health]").wait_for()
    assert no_horizontal_scroll(page)
    shot(page, "390")
    page.locator("#load-more").click()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length > 50")
    assert no_horizontal_scroll(page)
    for label in ("Time (UTC)", "Level", "Function", "Message", "Build"):
        cell = page.locator(f'{ROWS} td[data-label="{label}"]').nth(2)
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], label
    page.locator(f"{ROWS}:nth-child(3)").scroll_into_view_if_needed()
    shot(page, "390-rows")


@pytest.mark.parametrize("width", [1440, 390])
def test_the_logs_page_passes_axe_at_both_widths(
    page, live_server, upstream, sign_in, request, width
):
    from tests.e2e.test_accessibility import Scanner

    # The refused filter's page is a 400 on purpose; the browser reports that status.
    request.node.expected_console_errors = ("status of 400",)

    env = ivr_dev(upstream)
    fill(upstream, env, 70)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in()
    scan = Scanner(width)
    since = datetime.now(UTC) - timedelta(minutes=30)
    page.goto(logs_url(live_server, env, f"?since={since:%Y-%m-%dT%H:%M:%SZ}"))
    page.locator("#deploy-health [data-deploy-health]").wait_for()
    scan(page, "logs page with the deploy health")
    page.locator("#load-more").click()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length > 50")
    scan(page, "logs page after load more")
    page.goto(logs_url(live_server, env, "?level=fatal"))
    scan(page, "logs page refusing a filter")
    scan.assert_clean()
