"""Sign-in throttling (django-axes): lockout page, who stays able to sign in, unlock, audit."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from deployments_app.models import AuditEntry

pytestmark = pytest.mark.django_db

RIGHT = "pw-rita-right-1"
ATTACKER_IP = "198.51.100.23"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    # Dozens of sign-ins per test: a fast hasher keeps them cheap (the hasher is not tested).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rita(django_user_model):
    user = django_user_model.objects.create_user("rita", password=RIGHT)
    user.groups.add(Group.objects.get(name="Release manager"))
    return user


def sign_in(client: Client, username: str, password: str, **extra: str):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return client.get(reverse("overview")).status_code == 200


def fail_five_times(client: Client, username: str = "rita", **extra: str) -> None:
    for _ in range(5):
        response = sign_in(client, username, "wrong-password", **extra)
        # The first four are the usual "didn't match"; the fifth locks.
        assert response.status_code in {200, 429}


def test_five_wrong_passwords_lock_out_even_the_right_one_with_a_clear_page(client, rita):
    for attempt in range(4):
        response = sign_in(client, "rita", "wrong-password")
        assert response.status_code == 200, attempt
        assert "didn't match" in response.content.decode()
    assert sign_in(client, "rita", "wrong-password").status_code == 429

    response = sign_in(client, "rita", RIGHT)

    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in locked" in body
    assert "Try again in 15 minutes" in body
    assert "An administrator can unlock it sooner" in body
    # The site's own page (its stylesheet, its header), not a bare text.
    assert 'rel="stylesheet"' in body
    assert 'name="password"' not in body
    assert not signed_in(client)


def test_another_user_from_another_address_still_signs_in(client, rita, django_user_model):
    django_user_model.objects.create_user("olga", password="pw-olga-right-1")
    fail_five_times(client, REMOTE_ADDR=ATTACKER_IP)
    assert sign_in(client, "rita", RIGHT, REMOTE_ADDR=ATTACKER_IP).status_code == 429

    colleague = Client()
    response = sign_in(colleague, "olga", "pw-olga-right-1", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert signed_in(colleague)


def test_the_locked_user_from_another_address_still_signs_in(client, rita):
    fail_five_times(client, REMOTE_ADDR=ATTACKER_IP)

    elsewhere = Client()
    assert sign_in(elsewhere, "rita", RIGHT, REMOTE_ADDR="203.0.113.9").status_code == 302
    assert signed_in(elsewhere)


def test_an_address_trying_many_usernames_is_locked_out_too(client, rita):
    for name in ["ann", "bob", "cy", "dee", "eve"]:
        sign_in(client, name, "guess", REMOTE_ADDR=ATTACKER_IP)

    assert sign_in(client, "rita", RIGHT, REMOTE_ADDR=ATTACKER_IP).status_code == 429


def test_an_administrator_unlocks_in_the_admin(client, rita, django_user_model):
    fail_five_times(client)
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("sam", password="pw-sam-1"))
    attempts = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert attempts.status_code == 200
    assert "rita" in attempts.content.decode()

    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "rita", RIGHT).status_code == 302
    assert signed_in(client)


def test_an_administrator_unlocks_from_the_command_line(client, rita):
    fail_five_times(client)
    call_command("axes_reset_username", "rita")
    assert sign_in(client, "rita", RIGHT).status_code == 302


def test_a_lockout_is_one_audit_entry_as_it_begins(client, rita):
    fail_five_times(client, REMOTE_ADDR=ATTACKER_IP)
    for _ in range(3):  # refused while locked out: the same lockout, not new entries
        sign_in(client, "rita", RIGHT, REMOTE_ADDR=ATTACKER_IP)

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.via) == ("lockout", "refused", "web")
    assert (entry.actor, entry.client_ip) == ("rita", ATTACKER_IP)
    assert (entry.service_sid, entry.environment_sid) == ("", "")
    assert "locked out for 15 min" in entry.error_message


def test_the_audit_page_shows_a_lockout_without_an_environment(client, rita, django_user_model):
    fail_five_times(client, REMOTE_ADDR=ATTACKER_IP)
    viewer = django_user_model.objects.create_user("vera", password="pw-vera-1")
    viewer.groups.add(Group.objects.get(name="Viewer"))
    reader = Client()
    reader.force_login(viewer)

    body = reader.get(reverse("audit"), {"action": "lockout"}).content.decode()

    assert "Sign-in locked out" in body
    assert "Sign-in to the dashboard" in body
    assert ATTACKER_IP in body
    assert "/environments/" not in body


def test_behind_a_proxy_the_address_comes_from_its_header_only(client, rita, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    proxied = {
        "REMOTE_ADDR": "10.0.0.2",  # the proxy
        "HTTP_X_REAL_IP": ATTACKER_IP,
        # Client-controlled: never counted.
        "HTTP_X_FORWARDED_FOR": "192.0.2.77",
    }
    fail_five_times(client, **proxied)

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER_IP}
    assert AuditEntry.objects.get().client_ip == ATTACKER_IP
    # Another client behind the same proxy is not locked out with the attacker.
    colleague = Client()
    other = {**proxied, "HTTP_X_REAL_IP": "203.0.113.9"}
    assert sign_in(colleague, "rita", RIGHT, **other).status_code == 302


def test_of_a_forwarded_list_only_the_proxys_own_entry_counts(client, rita, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    # The client wrote the first address; the proxy appended the one it saw.
    sign_in(client, "rita", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ATTACKER_IP}")
    assert AccessAttempt.objects.get().ip_address == ATTACKER_IP


def test_without_a_proxy_setting_a_forged_header_is_ignored(client, rita):
    sign_in(client, "rita", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.1", HTTP_X_REAL_IP="192.0.2.2")
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"
