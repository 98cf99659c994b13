"""Login is required everywhere but the login page and static files."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/admin/"])
def test_pages_redirect_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_page_is_public_and_has_a_csrf_protected_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_static_files_are_public(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200


def test_signed_in_user_sees_the_overview_with_role_and_sign_out(client):
    user = User.objects.create_user("rita", password="pw-for-rita-1")
    user.groups.add(Group.objects.get(name="Release manager"))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "rita" in body
    assert "Release manager" in body
    assert reverse("logout") in body


def test_sign_out_is_a_post(client):
    user = User.objects.create_user("rita", password="pw-for-rita-1")
    client.force_login(user)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_role_groups_exist_after_migrate():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"Viewer", "Release manager", "Approver"} <= names


def test_no_template_comment_leaks_into_the_page(client):
    body = client.get(reverse("login")).content.decode()
    assert "{#" not in body
    assert "#}" not in body
