"""make run's demo history: the first look shows the dashboard's own states."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from deployments_app.models import AuditEntry, PromotionRequest

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    for command in ("seed_demo_users", "reconcile", "seed_demo_policies", "seed_demo_history"):
        call_command(command, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def overview(client: Client) -> str:
    body = client.get("/").content.decode()
    for url in re.findall(r'data-lazy-row hx-get="([^"]+)"', body):
        row = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        row_id = re.search(r'id="(row-[^"]+)"', row).group(1)
        start = body.index(f'id="{row_id}"')
        start = body.rindex("<article", 0, start)
        end = body.index("</article>", start) + len("</article>")
        body = body[:start] + row + body[end:]
    return body


def cell(body: str, upstream, service: str, env: str) -> str:
    sid = upstream.store.environment_named(upstream.store.service(service).sid, env).sid
    return body.split(f'id="cell-{sid}"', 1)[1].split("</li>", 1)[0]


def test_the_demo_history_shows_each_state_of_the_dashboard(upstream):
    printed = seed()
    assert "promoted ivr-flows dev to stage (succeeded)" in printed
    assert "awaiting approval" in printed
    entries = AuditEntry.objects.filter(actor="release")
    assert {(e.action, e.outcome) for e in entries} >= {
        ("promote", "succeeded"),
        ("redeploy", "succeeded"),
        ("clear", "succeeded"),
    }
    assert PromotionRequest.objects.filter(status=PromotionRequest.Status.OPEN).count() == 1

    client = Client()
    client.force_login(get_user_model().objects.get(username="release"))
    body = overview(client)
    assert "release" in cell(body, upstream, "ivr-flows", "stage")  # deployed by
    assert 'data-note="rolled-back"' in cell(body, upstream, "sms-notifications", "stage")
    assert "Delivery receipts stopped" in cell(body, upstream, "sms-notifications", "stage")
    assert 'data-note="cleared"' in cell(body, upstream, "partner-portal", "dev")
    assert "data-awaiting" in cell(body, upstream, "appointment-reminders", "production")


def test_seeding_twice_changes_nothing(upstream):
    seed()
    count = AuditEntry.objects.count()
    deployments = {
        e.sid: len(upstream.store.deployments(e.sid))
        for s in upstream.store.services()
        for e in upstream.store.environments(s.sid)
    }
    assert "there already" in seed()
    assert AuditEntry.objects.count() == count
    assert deployments == {
        e.sid: len(upstream.store.deployments(e.sid))
        for s in upstream.store.services()
        for e in upstream.store.environments(s.sid)
    }


def test_the_demo_names_every_build_and_shows_the_names_on_the_overview(upstream):
    from deployments_app.models import BuildLabel

    printed = seed()
    builds = [b for s in upstream.store.services() for b in upstream.store.builds(s.sid)]
    assert f"Labelled {len(builds)} builds" in printed
    assert BuildLabel.objects.count() == len(builds)
    client = Client()
    client.force_login(get_user_model().objects.get(username="release"))
    stage = upstream.store.environment_named(upstream.store.service("ivr-flows").sid, "stage")
    name = BuildLabel.objects.get(build_sid=stage.build_sid).label
    assert name.startswith("v1.")
    assert name in cell(overview(client), upstream, "ivr-flows", "stage")
    assert "Labelled 0 builds" in seed()  # idempotent
