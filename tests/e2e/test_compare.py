"""The compare page in Chromium: counts that match the builds, folded groups that open,
masked variables, and a layout that holds at 1440 px and at 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_accessibility import Scanner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def expected_counts(base, head) -> dict[str, int]:
    """Added, removed and changed, counted from the emulator's own build records."""

    def files(refs) -> dict[str, tuple[str, str]]:
        return {r.path: (r.sid, r.visibility) for r in refs}

    counts = {"added": 0, "removed": 0, "changed": 0}
    pairs = [
        (files(base.function_versions), files(head.function_versions)),
        (files(base.asset_versions), files(head.asset_versions)),
        (
            {d.name: d.version for d in base.dependencies},
            {d.name: d.version for d in head.dependencies},
        ),
    ]
    for old, new in pairs:
        counts["added"] += len(new.keys() - old.keys())
        counts["removed"] += len(old.keys() - new.keys())
        counts["changed"] += sum(old[k] != new[k] for k in old.keys() & new.keys())
    return counts


def test_compare_page_counts_the_changes_and_fits_wide_and_on_a_phone(
    page, live_server, upstream, sign_in
):
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    dev, production = envs["dev"], envs["production"]
    head, base = store.build(dev.build_sid), store.build(production.build_sid)
    expected = expected_counts(base, head)
    assert sum(expected.values()), "the seed's dev and production builds should differ"

    page.set_viewport_size(DESKTOP)
    sign_in()
    page.goto(
        f"{live_server.url}/services/{service.sid}/compare/"
        f"?head={head.sid}&environment={production.sid}&source={dev.sid}"
    )
    expect(page.get_by_role("heading", name="What changes")).to_be_visible()
    summary = page.locator("[data-diff-summary]")
    for kind, count in expected.items():
        expect(summary.locator(f'[data-count="{kind}"]')).to_have_text(str(count))
    assert (summary.get_attribute("data-runtime-changed") == "true") == (
        base.runtime != head.runtime
    )
    expect(page.locator("[data-nothing-changes]")).to_have_count(0)

    # Groups are folded; opening one shows its changes.
    functions = summary.locator('details[data-group="functions"]')
    expect(functions.locator(".diff-item").first).to_be_hidden()
    functions.locator("summary").click()
    expect(functions.locator(".diff-item").first).to_be_visible()
    variables = summary.locator('details[data-group="variables"]')
    variables.locator("summary").click()
    expect(variables.locator('[data-variable="FEATURE_CALLBACK_QUEUE"]')).to_contain_text(
        "missing on production"
    )
    body = page.content()
    for variable in store.variables(dev.sid) + store.variables(production.sid):
        if len(variable.value) > 8:
            assert variable.value not in body

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare-1440.png"), full_page=True)
    wide = Scanner(DESKTOP["width"])  # axe-core, WCAG 2 A and AA, groups open
    wide(page, "compare page")
    wide.assert_clean()

    page.set_viewport_size(PHONE)
    page.reload()
    page.locator('details[data-group="functions"] summary').click()
    # Nothing wider than the phone: no sideways scrolling of the page.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at {PHONE['width']}px"
    for selector in ('[data-side="base"]', '[data-side="head"]', "[data-diff-summary]"):
        box = page.locator(selector).bounding_box()
        assert box, selector
        assert box["x"] >= 0, selector
        assert box["x"] + box["width"] <= PHONE["width"], selector
    page.screenshot(path=str(SHOTS / "compare-390.png"), full_page=True)
    narrow = Scanner(PHONE["width"])
    narrow(page, "compare page")
    narrow.assert_clean()
    # What a phone shows at once, at its own resolution: the head, then the sections.
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "compare-390-top.png"))
    page.locator('[data-section="functions"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "compare-390-sections.png"))


def test_the_same_build_says_nothing_changes(page, live_server, upstream, sign_in):
    store = upstream.store
    service = store.service("sms-notifications")  # stage and production run dev's build
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    assert envs["stage"].build_sid == envs["dev"].build_sid
    sign_in()
    page.set_viewport_size(DESKTOP)
    page.goto(
        f"{live_server.url}/services/{service.sid}/compare/"
        f"?head={envs['dev'].build_sid}&environment={envs['stage'].sid}"
    )
    expect(page.locator("[data-nothing-changes]")).to_contain_text("Nothing changes.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare-nothing-1440.png"), full_page=True)
