"""The Approvals page, a request's page, and the decisions posted from it. Thin views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import retarget, trigger_client_event

from deployments_app import compare_selectors, forms, selectors
from deployments_app.models import PromotionRequest
from deployments_app.services import approvals, policies
from deployments_app.services.approvals import DecisionOutcome, DecisionRefused
from deployments_app.services.serverless_errors import NotFound
from deployments_app.views.common import HtmxHttpRequest, client_ip, is_partial

Decide = Callable[[HtmxHttpRequest, int, dict[str, Any]], DecisionOutcome]


@require_GET
def approval_list(request: HtmxHttpRequest) -> HttpResponse:
    page = selectors.approvals_page()
    template = "approvals.html#approvals-body" if is_partial(request) else "approvals.html"
    return render(request, template, {"page": page})


@require_GET
def approval_count(request: HtmxHttpRequest) -> HttpResponse:
    """The header's badge: requests this user could approve now (polled by htmx)."""
    count = selectors.approvals_waiting_count(request.user)
    return render(request, "base.html#approvals-badge", {"approvals_waiting": count})


@require_GET
def request_detail(request: HtmxHttpRequest, request_id: int) -> HttpResponse:
    try:
        detail = selectors.request_detail(request_id=request_id)
    except NotFound:
        raise Http404("No such request") from None
    user = request.user
    r = detail.request
    context = {
        "detail": detail,
        # What approving it changes on the target: the approver sees it before deciding.
        "changes": compare_selectors.deployment_changes(
            service_sid=r.service_sid,
            build_sid=r.build_sid,
            environment_sid=r.environment_sid,
            source_environment_sid=r.source_environment_sid,
        )
        if r.status == PromotionRequest.Status.OPEN
        else None,
        "can_decide": approvals.user_can_decide(user, detail.request),
        "is_requester": detail.request.requester_id == getattr(user, "pk", None),
        "can_break_glass": policies.user_can_break_glass(user),
    }
    template = "request.html#request-body" if is_partial(request) else "request.html"
    return render(request, template, context)


def _approve(request: HtmxHttpRequest, request_id: int, data: dict[str, Any]) -> DecisionOutcome:
    return approvals.request_approve(
        request_id=request_id,
        actor=request.user,
        comment=data["comment"],
        revision=data["revision"],
        client_ip=client_ip(request),
    )


def _reject(request: HtmxHttpRequest, request_id: int, data: dict[str, Any]) -> DecisionOutcome:
    return approvals.request_reject(
        request_id=request_id,
        actor=request.user,
        comment=data["comment"],
        client_ip=client_ip(request),
    )


def _withdraw(request: HtmxHttpRequest, request_id: int, data: dict[str, Any]) -> DecisionOutcome:
    return approvals.request_withdraw(
        request_id=request_id, actor=request.user, client_ip=client_ip(request)
    )


def _retry(request: HtmxHttpRequest, request_id: int, data: dict[str, Any]) -> DecisionOutcome:
    return approvals.request_retry(
        request_id=request_id, actor=request.user, client_ip=client_ip(request)
    )


def _ratify(request: HtmxHttpRequest, request_id: int, data: dict[str, Any]) -> DecisionOutcome:
    return approvals.request_ratify(
        request_id=request_id,
        actor=request.user,
        comment=data["comment"],
        client_ip=client_ip(request),
    )


_DECISIONS: dict[str, Decide] = {
    "approve": _approve,
    "reject": _reject,
    "withdraw": _withdraw,
    "retry": _retry,
    "ratify": _ratify,
}


@require_POST
def request_decide(request: HtmxHttpRequest, request_id: int, decision: str) -> HttpResponse:
    decide = _DECISIONS.get(decision)
    if decide is None:
        raise Http404("No such decision")
    back = reverse("request", args=[request_id])
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        return _answer(request, forms.errors_sentence(form), status=400, back=back)
    try:
        outcome = decide(request, request_id, form.cleaned_data)
    except DecisionRefused as refused:
        return _answer(request, refused.message, status=refused.status, back=back)
    return _answer(request, outcome.message, status=200, back=back)


def _answer(request: HtmxHttpRequest, message: str, *, status: int, back: str) -> HttpResponse:
    ok = status < 400
    if not is_partial(request):
        messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, message)
        return HttpResponseRedirect(back)
    template = "confirm.html#action-result" if ok else "confirm.html#action-error"
    response = render(request, template, {"message": message, "level": "ok"}, status=status)
    response = retarget(response, "#messages")
    # The request page, the cells and the header badge re-read.
    return trigger_client_event(response, "deploymentChanged", {}) if ok else response
