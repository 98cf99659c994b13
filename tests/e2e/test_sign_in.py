"""A newcomer signs in through the real login form and lands on the overview."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_shows_user_role_and_sign_out(page, live_server, sign_in):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    sign_in("rita", role="Release manager")
    header = page.get_by_role("banner")
    assert header.get_by_text("rita").is_visible()
    assert header.get_by_text("Release manager").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_is_refused_in_the_page(page, live_server, django_user_model):
    django_user_model.objects.create_user(username="rita", password="right-password-1")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
