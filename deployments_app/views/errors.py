"""The page for a request that failed outside every view's own error handling (handler500).

Most failures never get here: upstream errors are messages (common.upstream_errors) and
actions answer with theirs. What does get here is the dashboard's own infrastructure
failing: the database or the cache (Redis) unreachable, often before any view ran (the
session is read from the database). So this page touches neither: no template context
processors, no user, no session; plain HTML with the app's stylesheet.
"""

from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.html import format_html
from redis.exceptions import RedisError

_AGAIN = "Try again in a moment; if you had just started a deployment, check the audit log first."


def _explain(exc: BaseException | None) -> tuple[int, str, str]:
    if isinstance(exc, DatabaseError):
        what = "database"
    elif isinstance(exc, RedisError):
        what = "cache (Redis)"
    else:
        return 500, "Something went wrong in the dashboard", f"The error was logged. {_AGAIN}"
    return 503, f"The dashboard's {what} is unavailable", f"It cannot be reached. {_AGAIN}"


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while Django handles the exception, so it is still the current one.
    status, title, message = _explain(sys.exc_info()[1])
    alert = format_html('<p class="alert alert--error" role="alert">{}: {}</p>', title, message)
    if request.headers.get("HX-Request") == "true":
        body = alert  # swapped like every other error fragment (see base.html)
    else:
        body = format_html(
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<title>{}</title>\n<link rel="stylesheet" href="{}">\n</head>\n<body>\n'
            '<main id="main"><h1>{}</h1>\n{}\n<p><a href="/">Back to the overview</a></p>'
            "</main>\n</body>\n</html>\n",
            title,
            static("css/app.css"),
            title,
            alert,
        )
    response = HttpResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = "5"
    return response
