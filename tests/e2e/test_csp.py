"""The Content-Security-Policy is enforced: an injected script or handler does not run.

Every other browser test fails on any console error, a CSP violation among them, so the
dashboard's own pages are held to zero violations there; this test shows the policy bites.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_injected_script_and_handler_are_refused(page, live_server, upstream, sign_in, request):
    request.node.expected_console_errors = ("Content Security Policy",)
    sign_in()
    response = page.request.get(f"{live_server.url}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "geolocation=()" in response.headers["permissions-policy"]
    # As if an API string had slipped through unescaped: markup with inline code.
    page.evaluate(
        """() => {
            document.body.insertAdjacentHTML(
                'beforeend', '<img src="data:," onerror="window.__ran = 1">');
            const script = document.createElement('script');
            script.textContent = 'window.__ran = 2';
            document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => typeof window.__ran") == "undefined"
    assert any("Content Security Policy" in e for e in page.console_errors)
