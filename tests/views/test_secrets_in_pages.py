"""The Twilio credentials never reach a page, whatever the page shows."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from serverless_emulator import Fault

pytestmark = pytest.mark.django_db


def test_no_page_renders_the_auth_token_even_when_twilio_refuses_it(
    upstream, manager_client, settings
):
    service = upstream.store.service("ivr-flows")
    dev = upstream.store.environment_named(service.sid, "dev")
    pages = [
        "/",
        f"/services/{service.sid}/environments/{dev.sid}/",
        f"/services/{service.sid}/builds/{dev.build_sid}/",
        "/audit/",
    ]
    token = settings.TWILIO_AUTH_TOKEN
    for url in pages:
        assert token not in manager_client.get(url).content.decode(), url
    upstream.faults.add(Fault(method=None, path=r"/v1/", status=401, count=None))
    cache.clear()  # else the pages above are answered from the cache, without asking Twilio
    for url in pages:
        response = manager_client.get(url)
        # A page that cannot be built says why (502 Bad Gateway), never a 500.
        assert response.status_code in (200, 502), url
        assert "Check TWILIO_ACCOUNT_SID" in response.content.decode() or url == "/audit/"
        assert token not in response.content.decode(), url
