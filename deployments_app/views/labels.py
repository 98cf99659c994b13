"""Naming a release from its build page (CI uses `manage.py label`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from deployments_app import selectors
from deployments_app.services.labels import LabelRefused, build_label_set, user_can_label
from deployments_app.views.common import HtmxHttpRequest, upstream_errors


@require_POST
@upstream_errors
def build_label(request: HtmxHttpRequest, service_sid: str, build_sid: str) -> HttpResponse:
    if not user_can_label(request.user):
        return HttpResponseForbidden("Your role cannot name releases.")
    text, note = request.POST.get("label", ""), request.POST.get("note", "")
    try:
        changed = build_label_set(
            build_sid=build_sid, text=text, note=note, actor=request.user.get_username()
        )
    except LabelRefused as refusal:
        # The page again, with what was typed and the reason beside the form.
        detail = selectors.build_detail(service_sid=service_sid, build_sid=build_sid)
        context = {"detail": detail, "label_error": str(refusal), "label_form": request.POST}
        return render(request, "build.html", context, status=400)
    if changed:
        messages.success(request, "Label removed." if not text.strip() else "Label saved.")
    return redirect(reverse("build", args=[service_sid, build_sid]))
