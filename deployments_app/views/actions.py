"""Deployment actions. GET renders the confirmation (and changes nothing); POST acts.

All four are one view (`_action_view`) with their own form, preview and service call.
With htmx the confirmation opens in a dialog; the POST's answer is a message for
#messages plus a `deploymentChanged` event that makes every widget showing an
environment refresh itself. A refusal goes back into the dialog (HX-Retarget), with
its 4xx status. Without JavaScript both steps are plain pages and a redirect.

A role that may not act is refused the dialog as well as the POST, by the same rule
(`deployments.user_may`): a 403 with a message in place of the dialog, before the input is
parsed or Twilio is read, and nothing written (a GET is not an attempt, so no audit entry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import retarget, trigger_client_event

from deployments_app import compare_selectors, forms, roles, selectors
from deployments_app.models import AuditEntry
from deployments_app.services import deployments, policies
from deployments_app.views.common import (
    HtmxHttpRequest,
    View,
    client_ip,
    is_partial,
    upstream_errors,
)

Action = AuditEntry.Action
Data = dict[str, Any]


@dataclass(frozen=True)
class _Spec:
    """What differs between the four actions: their forms, preview and service call."""

    action: str
    # What a refusal says the role may not do: "promote builds", "clear environments".
    what: str
    confirm_form: type[django_forms.Form]
    post_form: type[django_forms.Form]
    preview: Callable[[Data], selectors.ActionPreview]
    perform: Callable[[HtmxHttpRequest, Data], deployments.ActionOutcome]
    # Where a request without JavaScript lands afterwards: "overview" or "environment".
    back: str = "environment"


def _action_view(spec: _Spec) -> View:
    @require_http_methods(["GET", "POST"])
    @upstream_errors
    def view(request: HtmxHttpRequest) -> HttpResponse:
        if request.method == "GET":
            if not deployments.user_may(action=spec.action, user=request.user):
                return _refused(request, spec)
            form = spec.confirm_form(request.GET)
            if not form.is_valid():
                return _error(request, forms.errors_sentence(form), status=400)
            return _confirm(request, spec.preview(form.cleaned_data))
        form = spec.post_form(request.POST)
        if not form.is_valid():
            # Still an attempted action: audited as refused, with the form's own words.
            return _act(
                request,
                lambda: deployments.action_refuse_input(
                    action=spec.action,
                    actor=request.user,
                    submitted=request.POST.dict(),
                    message=forms.errors_sentence(form),
                    client_ip=client_ip(request),
                ),
                # The fields that did parse still say where the user came from.
                back=_back(spec, form.cleaned_data),
            )
        data = form.cleaned_data
        return _act(request, lambda: spec.perform(request, data), back=_back(spec, data))

    view.__name__ = spec.action
    return view


def _confirm(request: HtmxHttpRequest, preview: selectors.ActionPreview) -> HttpResponse:
    template = "confirm.html#dialog" if is_partial(request) else "confirm.html"
    changes = compare_selectors.deployment_changes(
        service_sid=preview.service.sid,
        build_sid=preview.build.sid if preview.build and not preview.is_clear else None,
        environment_sid=preview.environment.sid,
        source_environment_sid=preview.source.sid if preview.source else None,
    )
    context = {
        "preview": preview,
        "changes": changes,
        "can_break_glass": policies.user_can_break_glass(request.user),
    }
    return render(request, template, context)


def _refused(request: HtmxHttpRequest, spec: _Spec) -> HttpResponse:
    """The dialog a role may not use: what it cannot do, and no button to do it."""
    role = roles.user_role(request.user) or "none"
    message = (
        f"Your role ({role}) does not allow you to {spec.what}. "
        "If you need to, ask an administrator for a role that does."
    )
    template = "confirm.html#refused" if is_partial(request) else "confirm.html"
    context = {"refusal": message, "in_dialog": is_partial(request)}
    return render(request, template, context, status=403)


def _back(spec: _Spec, data: Data) -> str:
    if spec.back == "environment" and data.get("service") and data.get("environment"):
        return reverse("environment", args=[data["service"], data["environment"]])
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
        return _result_error(request, error.message, status=error.status, back=back)
    changed = outcome.entry.outcome == AuditEntry.Outcome.SUCCEEDED
    if not is_partial(request):
        messages.add_message(
            request, messages.SUCCESS if changed else messages.INFO, outcome.message
        )
        return HttpResponseRedirect(back)
    response = render(
        request,
        "confirm.html#action-result",
        {"message": outcome.message, "level": "ok" if changed else "info"},
    )
    response = retarget(response, "#messages")
    # Every overview cell, history and build panel listening for this refreshes itself.
    return trigger_client_event(
        response,
        "deploymentChanged",
        {"environment": outcome.entry.environment_sid, "closeDialog": True},
    )


def _result_error(
    request: HtmxHttpRequest, message: str, *, status: int, back: str
) -> HttpResponse:
    if not is_partial(request):
        messages.error(request, message)
        return HttpResponseRedirect(back)
    return retarget(_error(request, message, status=status), "#dialog-error")


def _error(request: HtmxHttpRequest, message: str, *, status: int) -> HttpResponse:
    template = "confirm.html#action-error" if is_partial(request) else "upstream_error.html"
    context = {"message": message, "title": "This action cannot be opened"}
    return render(request, template, context, status=status)


# --- the four actions ------------------------------------------------------------------------

# A form's field names, as the service functions call them.
_KWARGS = {
    "service": "service_sid",
    "environment": "environment_sid",
    "source": "source_environment_sid",
    "target": "target_environment_sid",
    "build": "build_sid",
}


def _preview(action: str) -> Callable[[Data], selectors.ActionPreview]:
    def preview(data: Data) -> selectors.ActionPreview:
        return selectors.action_preview(
            action=action,
            service_sid=data["service"],
            environment_sid=data.get("target") or data["environment"],
            build_sid=data.get("build"),
            source_environment_sid=data.get("source"),
        )

    return preview


def _perform(
    service: Callable[..., deployments.ActionOutcome],
) -> Callable[[HtmxHttpRequest, Data], deployments.ActionOutcome]:
    def perform(request: HtmxHttpRequest, data: Data) -> deployments.ActionOutcome:
        fields = dict(data)
        grant = deployments.Grant(
            break_glass=fields.pop("break_glass", False),
            freeze_confirmed=fields.pop("freeze_confirmed", False),
        )
        kwargs = {_KWARGS.get(name, name): value for name, value in fields.items()}
        return service(actor=request.user, client_ip=client_ip(request), grant=grant, **kwargs)

    return perform


def _spec(
    action: str,
    what: str,
    form: type[django_forms.Form],
    service: Callable[..., deployments.ActionOutcome],
    *,
    confirm_form: type[django_forms.Form] | None = None,
    back: str = "environment",
) -> _Spec:
    return _Spec(
        action=action,
        what=what,
        confirm_form=confirm_form or form,
        post_form=form,
        preview=_preview(action),
        perform=_perform(service),
        back=back,
    )


promote = _action_view(
    _spec(
        Action.PROMOTE,
        "promote builds",
        forms.PromoteForm,
        deployments.deployment_promote,
        back="overview",
    )
)
redeploy = _action_view(
    _spec(
        Action.REDEPLOY,
        "roll back deployments",
        forms.RedeployForm,
        deployments.deployment_redeploy,
    )
)
restore = _action_view(
    _spec(
        Action.RESTORE,
        "restore environments",
        forms.EnvironmentActionForm,
        deployments.deployment_restore,
    )
)
# The confirmation is typed in the dialog, so opening it needs only the environment.
clear = _action_view(
    _spec(
        Action.CLEAR,
        "clear environments",
        forms.ClearForm,
        deployments.environment_clear,
        confirm_form=forms.EnvironmentActionForm,
    )
)
