"""The admin works under the Content-Security-Policy: its pages raise no violation."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/admin/",
    "/admin/deployments_app/environmentpolicy/",
    "/admin/deployments_app/environmentpolicy/add/",
    "/admin/deployments_app/auditentry/",
    "/admin/auth/user/",
]


def test_the_admin_pages_raise_no_csp_violation(page, live_server, upstream, django_user_model):
    django_user_model.objects.create_superuser("sam", password="pw-sam-admin")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-sam-admin")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    for path in PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
    # The page fixture fails the test on any console error, a CSP violation among them.
