"""Deployment actions. GET renders the confirmation (and changes nothing); POST acts.

With htmx the confirmation opens in a dialog; the POST's answer is a message for
#messages plus a `deploymentChanged` event that makes every widget showing an
environment refresh itself. A refusal goes back into the dialog (HX-Retarget), with
its 4xx status. Without JavaScript both steps are plain pages and a redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import retarget, trigger_client_event

from deployments_app import forms, selectors
from deployments_app.models import AuditEntry
from deployments_app.services import deployments
from deployments_app.views.common import (
    HtmxHttpRequest,
    client_ip,
    upstream_errors,
    wants_partial,
)

Action = AuditEntry.Action


def _confirm(
    request: HtmxHttpRequest, preview: selectors.ActionPreview, **extra: object
) -> HttpResponse:
    template = "confirm.html#dialog" if wants_partial(request) else "confirm.html"
    context = {
        "preview": preview,
        "can_deploy": deployments.user_can_deploy(request.user),
        "can_clear": deployments.user_can_clear(request.user),
        **extra,
    }
    return render(request, template, context)


def _back_to(request: HtmxHttpRequest, service_sid: str, environment_sid: str) -> str:
    if service_sid and environment_sid and request.POST.get("next") == "environment":
        try:
            return reverse("environment", args=[service_sid, environment_sid])
        except Exception:
            return reverse("overview")
    return reverse("overview")


def _act(
    request: HtmxHttpRequest,
    perform: Callable[[], deployments.ActionOutcome],
    *,
    back: str,
) -> HttpResponse:
    try:
        outcome = perform()
    except deployments.ActionError as error:
        if not request.htmx:
            messages.error(request, error.message)
            return HttpResponseRedirect(back)
        response = render(
            request, "confirm.html#action-error", {"message": error.message}, status=error.status
        )
        return retarget(response, "#dialog-error")
    level = "success" if outcome.entry.outcome == AuditEntry.Outcome.SUCCEEDED else "info"
    if not request.htmx:
        messages.add_message(
            request, messages.SUCCESS if level == "success" else messages.INFO, outcome.message
        )
        return HttpResponseRedirect(back)
    response = render(
        request,
        "confirm.html#action-result",
        {"message": outcome.message, "level": "ok" if level == "success" else "info"},
    )
    response = retarget(response, "#messages")
    # Every overview cell, history and build panel listening for this refreshes itself.
    return trigger_client_event(
        response,
        "deploymentChanged",
        {"environment": outcome.entry.environment_sid, "closeDialog": True},
    )


@require_http_methods(["GET", "POST"])
@upstream_errors
def promote(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = forms.PromoteForm(request.GET)
        if not form.is_valid():
            return _bad_request(request)
        preview = selectors.action_preview(
            action=Action.PROMOTE,
            service_sid=form.cleaned_data["service"],
            environment_sid=form.cleaned_data["target"],
            source_environment_sid=form.cleaned_data["source"],
        )
        return _confirm(request, preview)
    form = forms.PromoteForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    return _act(
        request,
        lambda: deployments.deployment_promote(
            actor=request.user,
            service_sid=data.get("service", ""),
            source_environment_sid=data.get("source", ""),
            target_environment_sid=data.get("target", ""),
            client_ip=client_ip(request),
        ),
        back=reverse("overview"),
    )


@require_http_methods(["GET", "POST"])
@upstream_errors
def redeploy(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = forms.RedeployForm(request.GET)
        if not form.is_valid():
            return _bad_request(request)
        preview = selectors.action_preview(
            action=Action.REDEPLOY,
            service_sid=form.cleaned_data["service"],
            environment_sid=form.cleaned_data["environment"],
            build_sid=form.cleaned_data["build"],
        )
        return _confirm(request, preview)
    form = forms.RedeployForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    return _act(
        request,
        lambda: deployments.deployment_redeploy(
            actor=request.user,
            service_sid=data.get("service", ""),
            environment_sid=data.get("environment", ""),
            build_sid=data.get("build", ""),
            reason=data.get("reason", ""),
            client_ip=client_ip(request),
        ),
        back=_back_to(request, data.get("service", ""), data.get("environment", "")),
    )


@require_http_methods(["GET", "POST"])
@upstream_errors
def restore(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = forms.EnvironmentActionForm(request.GET)
        if not form.is_valid():
            return _bad_request(request)
        clear_entry = deployments.restorable_build(environment_sid=form.cleaned_data["environment"])
        preview = selectors.action_preview(
            action=Action.RESTORE,
            service_sid=form.cleaned_data["service"],
            environment_sid=form.cleaned_data["environment"],
            build_sid=clear_entry.previous_build_sid if clear_entry else None,
        )
        return _confirm(request, preview, clear_entry=clear_entry)
    form = forms.EnvironmentActionForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    return _act(
        request,
        lambda: deployments.deployment_restore(
            actor=request.user,
            service_sid=data.get("service", ""),
            environment_sid=data.get("environment", ""),
            client_ip=client_ip(request),
        ),
        back=_back_to(request, data.get("service", ""), data.get("environment", "")),
    )


@require_http_methods(["GET", "POST"])
@upstream_errors
def clear(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = forms.EnvironmentActionForm(request.GET)
        if not form.is_valid():
            return _bad_request(request)
        preview = selectors.action_preview(
            action=Action.CLEAR,
            service_sid=form.cleaned_data["service"],
            environment_sid=form.cleaned_data["environment"],
        )
        return _confirm(request, preview)
    form = forms.ClearForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    return _act(
        request,
        lambda: deployments.environment_clear(
            actor=request.user,
            service_sid=data.get("service", ""),
            environment_sid=data.get("environment", ""),
            confirmation=data.get("confirmation", ""),
            client_ip=client_ip(request),
        ),
        back=_back_to(request, data.get("service", ""), data.get("environment", "")),
    )


def _bad_request(request: HtmxHttpRequest) -> HttpResponse:
    return render(
        request,
        "confirm.html#action-error" if request.htmx else "upstream_error.html",
        {"message": "This link is incomplete: it does not name a service and environment."},
        status=400,
    )
