"""The dashboard's own database briefly unavailable (issue 10, "Faults survived").

An outage is every query failing as PostgreSQL's do when the server goes away
(OperationalError), injected with Django's own hook, `connection.execute_wrapper`; it can
hit every query or only chosen ones (the audit entry's write) for a few calls. The pages
then answer a 503 that names the database (dashboard/urls.py handler500), never Django's
bare "Server Error (500)"; a deployment is never sent without its pending audit entry;
and the next request after the outage works, nothing restarted.

Real transactions (transaction=True): a failed query inside the test's own transaction
would poison every later query, which autocommit requests never see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from deployments_app import selectors
from deployments_app.models import AuditEntry, EnvironmentLock
from deployments_app.services import reconcile
from deployments_app.services.locks import LOCK_SECONDS
from tests.faults.conftest import HTMX, assert_clear, deployment_posts, entries

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = AuditEntry.Outcome
DOWN = "The dashboard's database is unavailable"
AUDIT_TABLE = AuditEntry._meta.db_table


@contextmanager
def database_outage(
    matches: Callable[[str], bool] = lambda sql: True, *, count: int | None = None
) -> Iterator[list[str]]:
    """Fail the matching queries (the first `count` of them, or all) on this thread's
    connection, which the test client's requests use; yields the statements failed."""
    failed: list[str] = []

    def fail(execute, sql, params, many, context):
        if matches(sql) and (count is None or len(failed) < count):
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield failed


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_page_says_the_database_is_down_then_works_again(
    twilio, promotion, manager_client, htmx
):
    headers = HTMX if htmx else {}
    urls = ["/", promotion.page, "/audit/"]
    with database_outage() as failed:
        for url in urls:
            response = manager_client.get(url, **headers)
            body = assert_clear(response, status=503, says=DOWN)
            assert response["Retry-After"] == "5"
            assert body.lstrip().startswith("<p" if htmx else "<!doctype html>")
    assert failed, "the outage did hit the requests"

    for url in urls:
        assert manager_client.get(url, **headers).status_code == 200, url


def test_a_promotion_while_the_database_is_down_sends_nothing_and_works_after(
    twilio, promotion, manager_client
):
    before = promotion.deployments()
    with database_outage():
        assert_clear(promotion.post(manager_client), status=503, says=DOWN)
    # The session could not even be read: nothing was attempted, so nothing to audit.
    assert deployment_posts(twilio) == []
    assert entries() == []

    assert_clear(promotion.post(manager_client), status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert [e.outcome for e in entries()] == [Outcome.SUCCEEDED]


def test_no_deployment_is_sent_when_its_pending_entry_cannot_be_written(
    twilio, promotion, manager_client
):
    before = promotion.deployments()
    with database_outage(lambda sql: sql.startswith(f'INSERT INTO "{AUDIT_TABLE}"'), count=1):
        assert_clear(promotion.post(manager_client), status=503, says=DOWN)
    assert deployment_posts(twilio) == [], "no deployment without its audit entry"
    assert entries() == []
    assert not EnvironmentLock.objects.exists(), "the lock was given back"

    assert_clear(promotion.post(manager_client), status=200, says="Promoted")
    assert promotion.deployments() == before + 1
    assert len(deployment_posts(twilio)) == 1


def test_a_deployment_whose_entry_cannot_be_completed_is_settled_by_reconcile(
    twilio, promotion, manager_client, monkeypatch
):
    """The POST succeeded, then the database went away: the entry stays pending (as a
    killed worker's would) until reconcile settles it by what Twilio runs."""
    before, wanted = promotion.deployments(), promotion.env("dev").build_sid
    with database_outage(lambda sql: sql.startswith(f'UPDATE "{AUDIT_TABLE}"'), count=1):
        body = assert_clear(promotion.post(manager_client), status=503, says=DOWN)
    assert "check the audit log" in body
    assert promotion.live() == wanted
    (entry,) = entries()
    assert entry.outcome == Outcome.PENDING

    # Within the lock's lifetime the action may still be running: reconcile waits.
    refresh = {"service": promotion.service.sid}
    manager_client.post("/refresh/", refresh, **HTMX)
    entry.refresh_from_db()
    assert entry.outcome == Outcome.PENDING
    # Past it, the worker is taken for dead and the entry is settled by what is live.
    later = timezone.now() + timedelta(seconds=LOCK_SECONDS + 1)
    monkeypatch.setattr(reconcile, "timezone", SimpleNamespace(now=lambda: later))
    settled = manager_client.post("/refresh/", refresh, **HTMX)
    assert_clear(settled, status=200, says="1 unfinished action(s) settled")
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED

    # Clicking again is safe: it is live, so nothing is sent.
    assert_clear(promotion.post(manager_client), status=200, says="already live")
    assert promotion.deployments() == before + 1
    assert len(deployment_posts(twilio)) == 1


# --- the error page itself ---------------------------------------------------------------


def test_any_other_crash_is_a_plain_500_page_without_a_traceback(
    twilio, manager_client, settings, monkeypatch
):
    # As in production: with DEBUG on, Django would show its technical page instead.
    assert settings.DEBUG is False

    def crash(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "overview_key", crash)
    response = manager_client.get("/")
    body = assert_clear(response, status=500, says="Something went wrong in the dashboard")
    assert "a bug" not in body
    assert "Retry-After" not in response
