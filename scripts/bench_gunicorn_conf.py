"""gunicorn settings for the benchmark's dashboard (scripts/bench_http.py passes `--config`).

"Cold" in the benchmark means an empty cache, not a cold interpreter: each worker compiles
its page templates and loads the URL configuration before it serves, so that the first
timed request measures upstream reads, not Django's lazy start-up. Nothing here reads
Twilio, and nothing here may fail a worker: a template that is missing is skipped.
"""

from __future__ import annotations

from typing import Any

TEMPLATES = ("base.html", "overview.html", "environment.html", "build.html", "upstream_error.html")


def post_worker_init(worker: Any) -> None:
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template
    from django.urls import reverse

    reverse("overview")  # imports every view module and fills the URL resolver
    for name in TEMPLATES:
        try:
            get_template(name)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            worker.log.warning("bench: template %s could not be preloaded", name)
