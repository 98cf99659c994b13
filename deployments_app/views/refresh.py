"""Refresh: reconcile the dashboard's records with Twilio now, on a user's explicit POST.

Page reads never write; this is the button that does (besides each action and the
periodic `manage.py reconcile`). It then makes every widget on the page re-read.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import retarget, trigger_client_event

from deployments_app import forms
from deployments_app.services import page_cache, reconcile
from deployments_app.services.serverless import get_client
from deployments_app.views.common import HtmxHttpRequest, is_partial

logger = logging.getLogger(__name__)


@require_POST
def refresh(request: HtmxHttpRequest) -> HttpResponse:
    form = forms.RefreshForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "confirm.html#action-error",
            {"message": forms.errors_sentence(form)},
            status=400,
        )
    service_sid = form.cleaned_data["service"]
    # Refresh means now: every page's next read goes to Twilio, not to the cache.
    page_cache.forget_account(get_client())
    if service_sid:
        report = reconcile.service_reconcile(service_sid=service_sid)
    else:
        report = reconcile.account_reconcile()
    logger.info("Refresh by %s: %s", request.user.get_username(), report)
    message = report.summary()
    level = "error" if report.errors else "info"
    if not is_partial(request):
        messages.add_message(request, messages.ERROR if report.errors else messages.INFO, message)
        return HttpResponseRedirect(form.cleaned_data["next"] or reverse("overview"))
    response = render(request, "confirm.html#action-result", {"message": message, "level": level})
    # Every widget listening re-reads: the cells, the history, the notes.
    return trigger_client_event(retarget(response, "#messages"), "deploymentChanged", {})
