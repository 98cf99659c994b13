"""The audit page and its CSV export: read-only, filterable, paged, safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from deployments_app.models import AuditEntry
from deployments_app.services.deployments import deployment_promote

pytestmark = pytest.mark.django_db

IVR = "ZS" + "1" * 32
BILLING = "ZS" + "2" * 32
IVR_DEV = "ZE" + "a1" * 16
IVR_STAGE = "ZE" + "a2" * 16
BILLING_PROD = "ZE" + "b3" * 16
BUILD_NEW = "ZB" + "c1" * 16
BUILD_OLD = "ZB" + "c2" * 16
DEPLOYMENT = "ZD" + "d1" * 16
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def entry(minutes: int = 0, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "created_at": START + timedelta(minutes=minutes),
        "actor": "rita",
        "via": "web",
        "action": AuditEntry.Action.PROMOTE,
        "service_sid": IVR,
        "service_name": "IVR Flows",
        "environment_sid": IVR_STAGE,
        "environment_name": "stage",
        "outcome": AuditEntry.Outcome.SUCCEEDED,
        **fields,
    }
    return AuditEntry.objects.create(**values)


@pytest.fixture
def trail() -> dict[str, AuditEntry]:
    """Three entries that differ in every filterable field."""
    return {
        "promote": entry(
            0,
            client_ip="203.0.113.7",
            source_environment_sid=IVR_DEV,
            source_environment_name="dev",
            build_sid=BUILD_NEW,
            previous_build_sid=BUILD_OLD,
            deployment_sid=DEPLOYMENT,
        ),
        "clear": entry(
            10,
            actor="sam",
            via="cli",
            action=AuditEntry.Action.CLEAR,
            service_sid=BILLING,
            service_name="Billing Webhooks",
            environment_sid=BILLING_PROD,
            environment_name="production",
            previous_build_sid=BUILD_OLD,
            outcome=AuditEntry.Outcome.FAILED,
            error_code=20500,
            error_message="Twilio had an internal error.",
        ),
        "redeploy": entry(
            20,
            action=AuditEntry.Action.REDEPLOY,
            environment_sid=IVR_DEV,
            environment_name="dev",
            build_sid=BUILD_OLD,
            outcome=AuditEntry.Outcome.REFUSED,
            error_message="Your role does not allow this action.",
            reason="Checkout is broken since the last release",
        ),
    }


@pytest.fixture
def viewer_client(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw-vera-audit")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    client.force_login(user)
    return client


def shown(response) -> list[int]:
    """The audit entries a page shows, in order."""
    return [int(pk) for pk in re.findall(r'data-audit-entry="(\d+)"', response.content.decode())]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- the page ------------------------------------------------------------------------------


def test_audit_lists_every_entry_newest_first_with_all_its_facts(manager_client, trail):
    response = manager_client.get(reverse("audit"))
    assert response.status_code == 200
    assert shown(response) == [trail["redeploy"].pk, trail["clear"].pk, trail["promote"].pk]
    body = response.content.decode()
    row = body.split(f'data-audit-entry="{trail["promote"].pk}"', 1)[1].split("</tr>", 1)[0]
    for fact in (
        "2025-03-01 09:30:00",
        "rita",
        "web",
        "203.0.113.7",
        "Promote",
        "IVR Flows",
        IVR,
        "stage",
        "from dev",
        BUILD_NEW,
        BUILD_OLD,
        DEPLOYMENT,
        "badge--ok",
        "Succeeded",
    ):
        assert fact in row, fact
    failed = body.split(f'data-audit-entry="{trail["clear"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "badge--err" in failed
    assert "20500" in failed
    assert "Twilio had an internal error." in failed
    assert "cli" in failed
    assert "Checkout is broken since the last release" in body


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"service": IVR}, ["redeploy", "promote"]),
        ({"service": IVR.lower()}, ["redeploy", "promote"]),
        ({"service": "billing"}, ["clear"]),
        ({"service": "IVR flo"}, ["redeploy", "promote"]),
        ({"environment": "stage"}, ["promote"]),
        ({"environment": "DEV"}, ["redeploy"]),
        ({"environment": BILLING_PROD}, ["clear"]),
        ({"user": "sam"}, ["clear"]),
        ({"user": "Rita"}, ["redeploy", "promote"]),
        ({"action": "redeploy"}, ["redeploy"]),
        ({"outcome": "failed"}, ["clear"]),
        ({"outcome": "pending"}, []),
        ({"service": IVR, "user": "rita", "outcome": "succeeded"}, ["promote"]),
    ],
)
def test_each_filter_narrows_the_list(manager_client, trail, filters, expected):
    response = manager_client.get(reverse("audit"), filters)
    assert response.status_code == 200
    assert shown(response) == [trail[name].pk for name in expected]
    if not expected:
        assert "No audit entries match these filters." in response.content.decode()


def test_an_empty_trail_says_nothing_happened_yet(manager_client):
    body = manager_client.get(reverse("audit")).content.decode()
    assert "Nothing has been promoted, rolled back or cleared yet." in body


def test_pages_hold_fifty_entries_and_page_links_keep_the_filters(manager_client):
    for minute in range(70):
        entry(minute, actor="rita")
        entry(minute, actor="sam")
    first = manager_client.get(reverse("audit"), {"user": "rita", "outcome": "succeeded"})
    assert len(shown(first)) == 50
    body = first.content.decode()
    assert "Entries 1\N{EN DASH}50 of 70" in body
    link = re.search(r'rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "user=rita" in link
    assert "outcome=succeeded" in link
    assert "page=2" in link
    # The same link is the htmx request's URL, so htmx and plain clicks agree.
    assert f'hx-get="{link.replace("&", "&amp;")}"' in body

    second = manager_client.get(link)
    rows = AuditEntry.objects.filter(pk__in=shown(second))
    assert len(shown(second)) == 20
    assert set(rows.values_list("actor", flat=True)) == {"rita"}
    assert not set(shown(first)) & set(shown(second))
    assert 'rel="next"' not in second.content.decode()
    assert 'rel="prev"' in second.content.decode()


@pytest.mark.parametrize("page", ["abc", "-1", "0", "999"])
def test_a_bad_page_number_shows_a_real_page(manager_client, trail, page):
    response = manager_client.get(reverse("audit"), {"page": page})
    assert response.status_code == 200
    assert len(shown(response)) == 3


def test_htmx_requests_get_only_the_results_partial(manager_client, trail):
    response = manager_client.get(reverse("audit"), {"user": "sam"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="audit-results"')
    assert shown(response) == [trail["clear"].pk]
    assert "HX-Request" in response["Vary"]


def test_the_full_page_has_a_filter_form_that_works_with_and_without_htmx(manager_client):
    response = manager_client.get(reverse("audit"), {"user": "sam"})
    body = response.content.decode()
    assert "<html" in body
    assert "HX-Request" in response["Vary"]
    form = re.search(r"<form[^>]*role=\"search\"[^>]*>", body).group(0)
    assert 'method="get"' in form
    assert f'action="{reverse("audit")}"' in form
    assert f'hx-get="{reverse("audit")}"' in form
    assert 'hx-target="#audit-results"' in form
    assert 'hx-push-url="true"' in form
    # The bookmarked filters come back filled in.
    assert re.search(r'name="user" value="sam"', body)
    for name in ("service", "environment", "user", "action", "outcome"):
        assert f'name="{name}"' in body


def test_htmx_history_restore_gets_the_whole_page(manager_client):
    response = manager_client.get(
        reverse("audit"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"action": "deploy-everything"}, "Select a valid choice."),
        ({"outcome": "great"}, "Select a valid choice."),
        ({"service": "x" * 101}, "at most 100 characters"),
        # Refused before the form (deployments_app/input_guard.py), with the page around it.
        ({"environment": "dev\x00"}, "contains a NUL character"),
    ],
)
def test_bad_filter_values_give_a_clear_message_not_an_error_page(
    manager_client, trail, filters, message
):
    response = manager_client.get(reverse("audit"), filters)
    assert response.status_code == 400
    body = response.content.decode()
    # A NUL never reaches the form: the guard refuses the request as a whole.
    title = "This request cannot be used" if "NUL" in message else "These filters cannot be used"
    assert title in body
    assert message in body
    assert shown(response) == []

    partial = manager_client.get(reverse("audit"), filters, HTTP_HX_REQUEST="true")
    assert partial.status_code == 400
    assert message in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_entry_text_is_escaped(manager_client):
    entry(reason='<script>alert("audit")</script>')
    body = manager_client.get(reverse("audit")).content.decode()
    assert '<script>alert("audit")' not in body
    assert "&lt;script&gt;" in body


def test_a_real_promotion_appears_with_what_it_replaced(upstream, manager_client):
    from django.contrib.auth.models import User

    service = next(s for s in upstream.store.services() if s.unique_name == "ivr-flows")
    envs = {e.unique_name: e for e in upstream.store.environments(service.sid)}
    outcome = deployment_promote(
        actor=User.objects.get(username="rita"),
        service_sid=service.sid,
        source_environment_sid=envs["dev"].sid,
        target_environment_sid=envs["stage"].sid,
        client_ip="198.51.100.4",
    )
    body = manager_client.get(reverse("audit"), {"service": service.sid}).content.decode()
    row = body.split(f'data-audit-entry="{outcome.entry.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "198.51.100.4" in row
    assert envs["dev"].build_sid in row
    assert envs["stage"].build_sid in row  # the live build before
    assert outcome.entry.deployment_sid
    assert outcome.entry.deployment_sid in row
    assert "from dev" in row


# --- CSV export ----------------------------------------------------------------------------


def test_export_streams_every_matching_entry_as_a_dated_attachment(manager_client):
    for minute in range(60):
        entry(minute)
    response = manager_client.get(reverse("audit_export"))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )
    rows = csv_rows(response)
    assert rows[0][:3] == ["Time (UTC)", "Completed (UTC)", "User"]
    assert "Twilio error code" in rows[0]
    assert len(rows) == 61  # the header and every entry, not one page of 50
    assert rows[1][0] == "2025-03-01T10:29:00+00:00"  # newest first, in UTC


def test_export_has_the_same_facts_as_the_page(manager_client, trail):
    rows = csv_rows(manager_client.get(reverse("audit_export")))
    record = dict(zip(rows[0], rows[3], strict=True))  # oldest: the promotion
    assert record["User"] == "rita"
    assert record["Client IP"] == "203.0.113.7"
    assert record["Action"] == "promote"
    assert record["Service SID"] == IVR
    assert record["Source environment"] == "dev"
    assert record["Build SID"] == BUILD_NEW
    assert record["Live build before"] == BUILD_OLD
    assert record["Deployment SID"] == DEPLOYMENT
    assert record["Outcome"] == "succeeded"
    failed = dict(zip(rows[0], rows[2], strict=True))
    assert failed["Twilio error code"] == "20500"
    assert failed["Error message"] == "Twilio had an internal error."


def test_export_respects_the_filters(manager_client, trail):
    response = manager_client.get(reverse("audit_export"), {"user": "rita", "action": "redeploy"})
    rows = csv_rows(response)
    assert len(rows) == 2
    assert rows[1][rows[0].index("Reason")] == "Checkout is broken since the last release"


def test_export_link_carries_the_page_filters_but_not_the_page(manager_client, trail):
    body = manager_client.get(reverse("audit"), {"user": "sam", "page": "1"}).content.decode()
    link = re.search(r'id="audit-export" href="([^"]+)"', body).group(1)
    assert link.startswith(reverse("audit_export"))
    assert "user=sam" in link
    assert "page=" not in link


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1"]
)
def test_export_defuses_spreadsheet_formulas(manager_client, text):
    entry(reason=text, actor=text, error_message=text)
    rows = csv_rows(manager_client.get(reverse("audit_export")))
    record = dict(zip(rows[0], rows[1], strict=True))
    for column in ("Reason", "User", "Error message"):
        assert record[column] == "'" + text


def test_export_leaves_ordinary_text_alone(manager_client):
    entry(reason="Rolled back: 5% of calls dropped, see INC-42")
    rows = csv_rows(manager_client.get(reverse("audit_export")))
    assert rows[1][rows[0].index("Reason")] == "Rolled back: 5% of calls dropped, see INC-42"


def test_export_with_a_bad_filter_says_so_instead_of_failing(manager_client, trail):
    response = manager_client.get(reverse("audit_export"), {"outcome": "great"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


# --- read-only, and who may read ----------------------------------------------------------


@pytest.mark.parametrize("name", ["audit", "audit_export"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_cannot_be_changed_through_the_web(manager_client, trail, name, method):
    response = getattr(manager_client, method)(reverse(name))
    assert response.status_code == 405
    assert AuditEntry.objects.count() == 3


def test_there_is_no_route_to_edit_or_delete_an_entry(manager_client, trail):
    pk = trail["promote"].pk
    for path in (f"/audit/{pk}/", f"/audit/{pk}/edit/", f"/audit/{pk}/delete/"):
        with pytest.raises(Resolver404):
            resolve(path)
    for name in ("audit_edit", "audit_delete", "audit_entry"):
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[pk])
    body = manager_client.get(reverse("audit")).content.decode()
    # The only POST form on the page is the header's sign-out.
    assert body.count('method="post"') == 1
    assert f'action="{reverse("logout")}"' in body


def test_a_viewer_can_read_the_audit_and_export_it(viewer_client, trail):
    page = viewer_client.get(reverse("audit"))
    assert page.status_code == 200
    assert len(shown(page)) == 3
    export = viewer_client.get(reverse("audit_export"))
    assert export.status_code == 200
    assert len(csv_rows(export)) == 4


@pytest.mark.parametrize("name", ["audit", "audit_export"])
def test_signed_out_visitors_are_sent_to_sign_in(client, trail, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_pending_entry_whose_worker_died_shows_as_unknown(manager_client):
    from datetime import timedelta

    from django.utils import timezone

    from deployments_app.models import ACTION_LIFETIME_SECONDS, AuditEntry

    AuditEntry.objects.create(
        action="promote",
        actor="rita",
        service_sid="ZS" + "1" * 32,
        environment_sid="ZE" + "1" * 32,
        created_at=timezone.now() - timedelta(seconds=ACTION_LIFETIME_SECONDS + 5),
    )
    AuditEntry.objects.create(
        action="promote", actor="rita", service_sid="ZS" + "1" * 32, environment_sid="ZE" + "2" * 32
    )
    body = manager_client.get("/audit/").content.decode()
    assert body.count(">Unknown</span>") == 1
    assert body.count(">Pending</span>") == 1


def test_the_service_filter_takes_the_unique_name_too(upstream, manager_client):
    from deployments_app.models import AuditEntry

    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    stage = upstream.store.environment_named(service.sid, "stage")
    manager_client.post(
        "/actions/promote/", {"service": service.sid, "source": dev.sid, "target": stage.sid}
    )
    assert AuditEntry.objects.get().service_unique_name == "ivr-flows"
    body = manager_client.get("/audit/", {"service": "ivr-flows"}).content.decode()
    assert "data-audit-entry=" in body
    body = manager_client.get("/audit/", {"service": "sms-notif"}).content.decode()
    assert "data-audit-entry=" not in body
