"""A NUL character in any query or form field is a clear 400, before anything stores it
(PostgreSQL cannot; found by the fuzzing on make test's PostgreSQL pass)."""

from __future__ import annotations

import pytest

from deployments_app.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/audit/", {"user": "ri\x00ta"}),
        ("post", "/accounts/login/", {"username": "rita\x00", "password": "x"}),
        ("post", "/actions/redeploy/", {"service": "ZS" + "0" * 32, "reason": "a\x00b"}),
        ("post", "/actions/promote/", {"re\x00ason": "x"}),
    ],
)
def test_a_nul_character_is_refused_with_a_clear_answer(
    client, django_user_model, method, url, data
):
    client.force_login(django_user_model.objects.create_user("vic", password="pw-vic-nul"))
    response = getattr(client, method)(url, data)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_a_sign_in_with_a_very_long_username_is_recorded_cut_to_a_username(client):
    from axes.models import AccessAttempt

    response = client.post("/accounts/login/", {"username": "u" * 300, "password": "x"})
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "u" * 150
