"""Sessions end after DJANGO_SESSION_IDLE_SECONDS (SESSION_COOKIE_AGE) without a request.

Saving the session on every request would renew it exactly but cost a write per page
(and the pages poll); renewing once it is five minutes old costs one write per five
minutes of use, and the idle limit holds to within those five minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

RENEW_AFTER_SECONDS = 300
_RENEWED = "_idle_renewed_at"


class SessionIdleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            now = int(time.time())
            if now - int(session.get(_RENEWED, 0)) >= RENEW_AFTER_SECONDS:
                # Modified: saved on the way out with a new expiry, and the cookie re-sent.
                session[_RENEWED] = now
        return self.get_response(request)
