"""The compare page: what putting one build live changes, and how two environments'
variables differ.

`?base=<build>&head=<build>` compares two builds; `?head=<build>&environment=<env>`
compares a build with what is live on that environment. `&source=<env>&target=<env>`
adds the variables drift between two environments (with `environment`, `target`
defaults to it). Input that cannot be used is a 400 naming the field; a SID that names
nothing in the service is a 404 naming the SID.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from deployments_app import compare_selectors
from deployments_app.forms import SidField, errors_sentence
from deployments_app.views.common import HtmxHttpRequest, is_partial, upstream_errors


class CompareQueryForm(forms.Form):
    """What the compare page compares. The form of this page only: it lives beside it."""

    head = SidField("build", label="Head build")
    base = SidField("build", required=False, label="Base build")
    environment = SidField("environment", required=False, label="Environment")
    source = SidField("environment", required=False, label="Variables source")
    target = SidField("environment", required=False, label="Variables target")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"base", "environment", "source", "target"} & self.errors.keys():
            return data
        base, environment = data.get("base") or None, data.get("environment") or None
        if (base is None) == (environment is None):
            self.add_error(
                "base",
                "Give either a base build or an environment to compare the head build with "
                "(one of the two).",
            )
        source = data.get("source") or None
        # "This build vs live on X": the variables are compared with X's by default.
        target = data.get("target") or (environment if source else None)
        if target and not source:
            self.add_error("source", "Name the environment to compare the target's variables with.")
        elif source and not target:
            self.add_error("target", "Name the environment to compare the source's variables with.")
        elif source and source == target:
            self.add_error("target", "Choose two different environments.")
        data["base"], data["environment"] = base, environment
        data["source"], data["target"] = source, target
        return data


@require_GET
@upstream_errors
def compare(request: HtmxHttpRequest, service_sid: str) -> HttpResponse:
    form = CompareQueryForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "upstream_error.html#upstream-error" if is_partial(request) else "upstream_error.html",
            {"message": errors_sentence(form), "title": "This link cannot be used"},
            status=400,
        )
    query = form.cleaned_data
    comparison = compare_selectors.build_comparison(
        service_sid=service_sid,
        head_sid=query["head"],
        base_sid=query["base"],
        environment_sid=query["environment"],
        source_sid=query["source"],
        target_sid=query["target"],
    )
    return render(request, "compare.html", {"comparison": comparison, "diff": comparison.diff})
