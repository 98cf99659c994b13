"""Browser harness: Playwright for Python driving Debian's Chromium against live_server.

Every test gets a fresh browser context that records console errors and every request
the page makes; at teardown it saves a full-page screenshot under artifacts/ and fails
the test if the page logged an error or talked to any host but the test server.
`second_user` opens another person's browser context, watched the same way.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls that fixtures
# make here are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _browser_missing_reason() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    reason = _browser_missing_reason()
    if reason:
        # In CI a missing browser is a failure, never a silent skip.
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _watched_page(browser, live_server) -> object:
    """A page in a fresh context that records console errors and requests to other hosts."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    console_errors: list[str] = []
    foreign_requests: list[str] = []
    server_host = urlsplit(live_server.url).netloc

    page.on(
        "console",
        lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    def note_request(req) -> None:
        parts = urlsplit(req.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != server_host:
            foreign_requests.append(req.url)

    page.on("request", note_request)
    page.console_errors = console_errors
    page.foreign_requests = foreign_requests
    return page


def _close_and_check(page, request, suffix: str = "") -> None:
    """Save the page's full screenshot, close its context, fail on what it recorded."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1] + suffix)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        page.context.close()
    expected_errors = getattr(request.node, "expected_console_errors", ())
    unexpected = [e for e in page.console_errors if not any(x in e for x in expected_errors)]
    assert not unexpected, f"console errors{suffix}: {unexpected}"
    assert not page.foreign_requests, f"requests to other hosts{suffix}: {page.foreign_requests}"


def _sign_in_through_form(page, live_server, django_user_model, username: str, role: str | None):
    from django.contrib.auth.models import Group

    password = f"pw-{username}-e2e"
    user = django_user_model.objects.create_user(username=username, password=password)
    if role:
        # live_server tests flush the database, data-migrated groups included.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    overview_settled(page)
    return user


def overview_settled(page) -> None:
    """Wait until every row of the overview has loaded its details (they load lazily)."""
    page.wait_for_function("() => !document.querySelector('[data-lazy-row]')")


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:
    page = _watched_page(browser, live_server)
    yield page
    _close_and_check(page, request)


@pytest.fixture
def sign_in(page, live_server, django_user_model):
    """Sign in through the login form as a user of the given role."""

    def _sign_in(username: str = "rita", role: str | None = "Release manager") -> object:
        return _sign_in_through_form(page, live_server, django_user_model, username, role)

    return _sign_in


@pytest.fixture
def second_user(browser, live_server, request, django_user_model) -> Iterator[object]:
    """Another person at their own browser: second_user(username, role) gives their page.

    Its own context (cookies, session), signed in through the form, watched like `page`:
    its console errors and foreign requests fail the test too, and its screenshot is
    saved with the username appended.
    """
    opened: list[tuple[object, str]] = []

    def _open(username: str = "anna", role: str | None = "Approver") -> object:
        other = _watched_page(browser, live_server)
        opened.append((other, username))
        other.user = _sign_in_through_form(other, live_server, django_user_model, username, role)
        return other

    yield _open
    failures: list[str] = []
    for other, username in opened:
        try:
            _close_and_check(other, request, suffix=f"__{username}")
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "; ".join(failures)


@pytest.fixture
def reconciled(upstream):
    """The records in step with Twilio, as `make run` (and cron) leave them."""
    from deployments_app.services import reconcile

    return reconcile.account_reconcile()
