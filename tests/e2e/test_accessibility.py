"""Every page and every action dialog through axe-core, at desktop and at phone width.

Each scan also checks that nothing pushes the page sideways and saves a screenshot
(artifacts/screenshots/accessibility_NN_<where>_<width>.png), the set to look at after
a change to any page.

axe-core is vendored as a test-only asset (tests/e2e/vendor/, see its README), injected
into each page as it stands and run against WCAG 2 A and AA. A violation of impact
serious or critical fails the test; the message names each one, where it is and how to
fix it, for every page at once. One signed-in page per width walks the whole product, so
the scans see real states: a dialog open over its page, a protected target, a cleared
environment, a request waiting for approval.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from deployments_app.models import EnvironmentPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WIDTHS = {1440: 900, 390: 844}

# Runs in the page: axe's findings cut down to what a developer needs to fix them.
AXE_RUN = """async () => {
  const results = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});
  return results.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
    }));
}"""


AXE_SOURCE = AXE.read_text(encoding="utf-8") + "\n;undefined"


class Scanner:
    """Scans pages as they stand and keeps what blocks, so one run reports every page."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.scanned: list[str] = []
        self.findings: list[str] = []

    def __call__(self, page, where: str) -> None:
        # Polls and lazy rows settle first: axe reads the DOM, not a half-swapped one.
        page.wait_for_load_state("networkidle")
        if not page.evaluate("() => 'axe' in window"):
            # Evaluated through the browser's debugging protocol: the page's CSP allows no
            # script it did not serve itself, and a <script> tag would be refused.
            page.evaluate(AXE_SOURCE)
        self.scanned.append(where)
        # Every field and action reachable: nothing may push the page sideways, at either
        # width (a table too wide for a phone scrolls inside its own box instead).
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            self.findings.append(f"- {where}: the page is {overflow} px wider than the screen")
        slug = re.sub(r"[^a-z0-9]+", "_", where.lower()).strip("_")[:60]
        # The top of a long page (a 300-deployment history is 14,000 px on a phone).
        height = min(page.evaluate("() => document.documentElement.scrollHeight"), 2400)
        path = SCREENSHOTS / f"accessibility_{len(self.scanned):02d}_{slug}_{self.width}.png"
        clip = {"x": 0, "y": 0, "width": self.width, "height": height}
        page.screenshot(path=str(path), full_page=True, clip=clip)
        for violation in page.evaluate(AXE_RUN):
            nodes = "\n".join(
                f"      {node['target']}\n        {' '.join(node['summary'].split())}"
                for node in violation["nodes"]
            )
            self.findings.append(
                f"- {where}: {violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"    {violation['helpUrl']}\n{nodes}"
            )

    def assert_clean(self) -> None:
        assert not self.findings, (
            f"axe-core found serious or critical WCAG 2 A/AA violations at {self.width} px "
            f"({len(self.findings)} on {len(self.scanned)} scans):\n" + "\n".join(self.findings)
        )


def snap(page, name: str, width: int, *, full_page: bool = True) -> None:
    path = SCREENSHOTS / f"accessibility_{name}_{width}.png"
    page.screenshot(path=str(path), full_page=full_page)


def open_dialog(page, trigger) -> object:
    """Opens the action dialog its trigger loads, and returns the open <dialog>.

    A trigger a narrow layout tucks away (a closed menu) is followed through its href,
    the way htmx would load it: the scan is about the dialog, not about the menu.
    """
    if trigger.is_visible():
        trigger.click()
    else:
        page.evaluate(
            "url => htmx.ajax('GET', url, {target: '#dialog-body'})", trigger.get_attribute("href")
        )
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    return dialog


def close_dialog(dialog) -> None:
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


@pytest.fixture
def ivr(upstream, reconciled):
    """ivr-flows as `make run` leaves it, with production protected (promote from stage)."""
    store = upstream.store
    service = store.service("ivr-flows")
    envs = {e.unique_name: e for e in store.environments(service.sid)}
    EnvironmentPolicy.objects.create(
        service_sid=service.sid, environment_name="production", promote_from="stage"
    )
    dev = envs["dev"]
    # Named releases, as the demo seed and CI leave them: the labels show on every page.
    for n, build in enumerate(sorted(store.builds(service.sid), key=lambda b: b.date_created)):
        call_command("label", build.sid, f"v1.{n}.0 · {build.sid[-7:]}", "--note", "demo")
    older = next(
        d.build_sid
        for d in store.deployments(dev.sid)
        if d.build_sid != dev.build_sid and store.build(d.build_sid).status == "completed"
    )
    return SimpleNamespace(
        service=service, dev=dev, stage=envs["stage"], production=envs["production"], older=older
    )


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_and_dialog_has_no_serious_accessibility_violation(
    page, live_server, sign_in, second_user, ivr, width, request
):
    # axe-core inserts an empty <style> to measure the page; the CSP refuses it (and the
    # other browser tests hold the dashboard itself to zero CSP violations).
    request.node.expected_console_errors = ("Applying inline style violates",)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    scan = Scanner(width)
    service_sid = ivr.service.sid
    dev_url = f"{live_server.url}/services/{service_sid}/environments/{ivr.dev.sid}/"

    page.goto(f"{live_server.url}/accounts/login/")
    scan(page, "login page (signed out)")

    sign_in("rita", "Release manager")
    scan(page, "overview")
    snap(page, "overview", width)
    article = page.locator(f"#row-{service_sid}")

    dialog = open_dialog(page, article.locator("[data-promote='dev']"))
    expect(dialog).to_contain_text("Promote to stage?")
    scan(page, "promote dialog (open over the overview)")
    snap(page, "dialog_promote", width, full_page=False)
    close_dialog(dialog)

    # Production is protected: the dialog asks for a reason, and confirming makes a request.
    dialog = open_dialog(page, article.locator("[data-promote='stage']"))
    expect(dialog).to_contain_text("production is protected.")
    scan(page, "promote dialog, protected target")
    dialog.get_by_label("Why?").fill("Ship the menu timeout fix (REL-42)")
    dialog.get_by_role("button", name="Request approval").click()
    status = page.locator("#messages").get_by_role("status")
    expect(status).to_contain_text(re.compile(r"request #\d+"))
    expect(dialog).to_be_hidden()
    number = int(re.search(r"request #(\d+)", status.inner_text()).group(1))
    scan(page, "overview with a request awaiting approval")

    page.goto(dev_url)
    scan(page, "environment page")
    snap(page, "environment", width)

    redeploy = page.locator(f'[data-redeploy="{ivr.older}"]').first
    redeploy_url = redeploy.get_attribute("href")
    dialog = open_dialog(page, redeploy)
    expect(dialog).to_contain_text("Roll back dev?")
    scan(page, "roll back dialog (open over the environment page)")
    close_dialog(dialog)

    clear = page.locator("#clear-environment")
    clear_url = clear.get_attribute("href")
    dialog = open_dialog(page, clear)
    expect(dialog).to_contain_text("This takes dev offline.")
    scan(page, "clear dialog (open over the environment page)")
    snap(page, "dialog_clear", width, full_page=False)
    dialog.get_by_label("Type dev to confirm").fill("dev")
    dialog.get_by_role("button", name="Clear environment").click()
    expect(page.locator("#messages").get_by_role("status")).to_be_visible()
    expect(dialog).to_be_hidden()

    page.reload()
    expect(page.locator('[data-note="cleared"]')).to_be_visible()
    scan(page, "environment page, cleared (its history kept by the dashboard)")
    restore = page.locator("[data-restore]").first
    restore_url = restore.get_attribute("href")
    dialog = open_dialog(page, restore)
    expect(dialog).to_contain_text("Restore dev?")
    scan(page, "restore dialog (open over the environment page)")
    close_dialog(dialog)

    # The same dialogs as pages of their own, as they open without JavaScript.
    sids = f"service={service_sid}&source={ivr.stage.sid}&target={ivr.production.sid}"
    promote_url = f"/actions/promote/?{sids}"
    for action, url in (
        ("promote", promote_url),
        ("roll back", redeploy_url),
        ("clear", clear_url),
        ("restore", restore_url),
    ):
        page.goto(live_server.url + url)
        scan(page, f"{action} confirmation page ({url.split('?')[0]})")

    page.goto(f"{live_server.url}/services/{service_sid}/builds/{ivr.dev.build_sid}/")
    scan(page, "build page")
    page.goto(f"{live_server.url}/approvals/")
    scan(page, "approvals list, as the requester")
    page.goto(f"{live_server.url}/approvals/{number}/")
    scan(page, "request page, as the requester")
    page.goto(f"{live_server.url}/audit/")
    scan(page, "audit page")

    # An approver sees the waiting count and the decision forms.
    anna = second_user("anna", "Approver")
    anna.set_viewport_size({"width": width, "height": WIDTHS[width]})
    scan(anna, "overview, as an approver")
    anna.goto(f"{live_server.url}/approvals/")
    scan(anna, "approvals list, as an approver")
    anna.goto(f"{live_server.url}/approvals/{number}/")
    expect(anna.get_by_role("button", name="Approve")).to_be_visible()
    scan(anna, "request page, as an approver")

    scan.assert_clean()
