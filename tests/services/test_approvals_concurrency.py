"""Approvals under concurrency: threads on real database connections, released together.

Concurrent final approvals deploy once; an approval racing the requester's withdrawal
either deploys or is withdrawn, never both; an approval racing an outside deployment
never deploys over a plan that no longer holds. `make test` runs this file on SQLite and
again on PostgreSQL (DATABASE_URL), whose READ COMMITTED connections interleave writes
that SQLite's single writer would queue.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from deployments_app import roles
from deployments_app.models import (
    Approval,
    AuditEntry,
    EnvironmentLock,
    EnvironmentPolicy,
    PromotionRequest,
)
from deployments_app.services import approvals
from deployments_app.services.approvals import DecisionOutcome, DecisionRefused
from deployments_app.services.deployments import deployment_promote
from deployments_app.services.serverless import get_client
from serverless_emulator import Fault

# Threads commit on connections of their own: a test transaction would hide their writes.
pytestmark = pytest.mark.django_db(transaction=True)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
Status = PromotionRequest.Status

ROUNDS = 10
# Round i starts the second party i * STEP seconds after the first: the rounds sweep the
# interleavings from "both at once" to "one well after the other".
STEP = 0.004


# --- helpers ---------------------------------------------------------------------------------


def make_user(django_user_model, name: str, role: str):
    roles.ensure_role_groups()
    made = django_user_model.objects.create_user(name, email=f"{name}@example.com")
    made.groups.add(Group.objects.get(name=role))
    return made


def env(upstream, name: str):
    return upstream.store.environment_named("ivr-flows", name)


def protect_production(upstream, *, required_approvals: int) -> EnvironmentPolicy:
    return EnvironmentPolicy.objects.create(
        service_sid=env(upstream, "production").service_sid,
        environment_name="production",
        required_approvals=required_approvals,
        promote_from="stage",
    )


def request_promotion(upstream, requester) -> PromotionRequest:
    """Stage's build to production, which is protected: an open request."""
    stage, production = env(upstream, "stage"), env(upstream, "production")
    outcome = deployment_promote(
        actor=requester,
        service_sid=stage.service_sid,
        source_environment_sid=stage.sid,
        target_environment_sid=production.sid,
        reason="ship the retry fix",
    )
    assert outcome.request is not None, outcome.message
    return outcome.request


def posts(upstream) -> list:
    """The deployments POSTed, once the emulator has logged every request it answered."""
    stats = get_client().stats
    expected = stats.requests_sent - stats.timeouts
    deadline = time.monotonic() + 3
    while len(upstream.requests) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return [r for r in upstream.requests if r.method == "POST"]


def after(seconds: float, call: Callable[[], object]) -> Callable[[], object]:
    def delayed() -> object:
        time.sleep(seconds)
        return call()

    return delayed


def race(*calls: Callable[[], object]) -> list[object]:
    """Each call in a thread of its own, all released at once; results (or errors) in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = call()
        except Exception as exc:  # collected and checked by the test
            results[index] = exc
        finally:
            # This thread's connection; the test's own stays open.
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def assert_decided_or_refused(results: list[object]) -> None:
    """Every racer got an answer: an outcome, or a refusal because the request moved on."""
    for result in results:
        if isinstance(result, DecisionRefused):
            assert result.status == 409, result.message
        else:
            assert isinstance(result, DecisionOutcome), result


# --- concurrent final approvals ----------------------------------------------------------------


def test_eight_simultaneous_final_approvals_deploy_exactly_once(upstream, django_user_model):
    protect_production(upstream, required_approvals=2)
    rita = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = make_user(django_user_model, "anna", roles.APPROVER)
    racers = [make_user(django_user_model, f"approver{i}", roles.APPROVER) for i in range(8)]
    request = request_promotion(upstream, rita)
    assert approvals.request_approve(request_id=request.pk, actor=anna).entry is None

    results = race(
        *(partial(approvals.request_approve, request_id=request.pk, actor=who) for who in racers)
    )

    assert_decided_or_refused(results)
    executed = [r for r in results if isinstance(r, DecisionOutcome) and r.entry is not None]
    assert len(executed) == 1, results
    assert len(posts(upstream)) == 1
    promotions = AuditEntry.objects.filter(action=Action.PROMOTE)
    assert list(promotions.values_list("outcome", "request")) == [(Outcome.SUCCEEDED, request.pk)]
    request.refresh_from_db()
    assert request.status == Status.EXECUTED
    assert request.deployment_sid == executed[0].entry.deployment_sid
    assert env(upstream, "production").build_sid == env(upstream, "stage").build_sid
    assert not EnvironmentLock.objects.exists()


# --- a final approval racing the withdrawal -----------------------------------------------------


def test_a_final_approval_racing_the_withdrawal_deploys_or_withdraws_never_both(
    upstream, django_user_model
):
    protect_production(upstream, required_approvals=1)
    rita = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = make_user(django_user_model, "anna", roles.APPROVER)
    production = env(upstream, "production")
    original = production.build_sid
    endings: Counter[str] = Counter()

    for round_ in range(ROUNDS):
        if env(upstream, "production").build_sid != original:
            upstream.store.deploy(production.sid, original)  # back to the start, for a new request
        request = request_promotion(upstream, rita)
        before = len(posts(upstream))

        approved, withdrawn = race(
            partial(approvals.request_approve, request_id=request.pk, actor=anna),
            after(
                round_ * STEP,
                partial(approvals.request_withdraw, request_id=request.pk, actor=rita),
            ),
        )

        assert_decided_or_refused([approved, withdrawn])
        request.refresh_from_db()
        deployed = len(posts(upstream)) - before
        promotions = list(request.audit_entries.filter(action=Action.PROMOTE))
        withdrawals = request.audit_entries.filter(
            action=Action.WITHDRAW, outcome=Outcome.SUCCEEDED
        )
        if request.status == Status.EXECUTED:
            assert isinstance(withdrawn, DecisionRefused), withdrawn
            assert deployed == 1
            assert [p.outcome for p in promotions] == [Outcome.SUCCEEDED]
            assert not withdrawals.exists()
            assert env(upstream, "production").build_sid == request.build_sid
        else:
            assert request.status == Status.WITHDRAWN, request.status
            assert isinstance(withdrawn, DecisionOutcome), withdrawn
            assert deployed == 0
            assert promotions == []
            assert withdrawals.count() == 1
            assert env(upstream, "production").build_sid == original
        endings[request.status] += 1

    assert sum(endings.values()) == ROUNDS
    assert not EnvironmentLock.objects.exists()


# --- a final approval racing an outside deployment ---------------------------------------------

# When the outside deployment lands, in ms after the approval's first answer from Twilio
# (None: at once, before the approval has read anything).
OUTSIDE_AT = [None, None, 0, 5, 10, 15, 20, 25, 30, 40]

# The environment is read again right before the POST; only an outside deployment in
# that last round trip can still be deployed over (Twilio has no conditional deploy), and
# then it is recorded on the request and in the audit.


def outside_build(upstream, *exclude: str) -> str:
    """A build of production's history, neither live nor the one to promote: the Twilio CLI."""
    return next(
        d.build_sid
        for d in upstream.store.deployments(env(upstream, "production").sid)
        if d.build_sid and d.build_sid not in exclude
    )


def test_a_final_approval_racing_an_outside_deployment_never_deploys_a_voided_plan(
    upstream, django_user_model
):
    protect_production(upstream, required_approvals=1)
    rita = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = make_user(django_user_model, "anna", roles.APPROVER)
    stage, production = env(upstream, "stage"), env(upstream, "production")
    original = production.build_sid
    outside = outside_build(upstream, original, stage.build_sid)
    endings: Counter[str] = Counter()

    for at in OUTSIDE_AT:
        if env(upstream, "production").build_sid != original:
            upstream.store.deploy(production.sid, original)
        request = request_promotion(upstream, rita)
        before, logged = len(posts(upstream)), len(upstream.requests)

        def deploy_outside(at: float | None = at, logged: int = logged) -> object:
            if at is not None:
                while len(upstream.requests) == logged:
                    time.sleep(0.0005)
                time.sleep(at / 1000)
            return upstream.store.deploy(production.sid, outside)

        approved, _ = race(
            partial(approvals.request_approve, request_id=request.pk, actor=anna), deploy_outside
        )

        assert_decided_or_refused([approved])
        request.refresh_from_db()
        deployed = len(posts(upstream)) - before
        history = [d.build_sid for d in upstream.store.deployments(production.sid)]
        if request.status == Status.OPEN:
            # The plan check saw the outside deployment: voided, nothing sent.
            assert deployed == 0
            assert history[:2] == [outside, original]
            assert request.live_build_sid == outside
            assert not Approval.objects.filter(request=request, voided_at__isnull=True).exists()
            assert request.audit_entries.filter(action=Action.VOID).count() == 1
            approvals.request_withdraw(request_id=request.pk, actor=rita)  # for the next round
            endings["voided"] += 1
        else:
            assert request.status == Status.EXECUTED, request.status
            assert deployed == 1
            if history[:3] == [request.build_sid, outside, original]:
                # Between our last read and our POST: not preventable without a
                # conditional deploy upstream, so it must be found and recorded.
                assert outside in request.execution_error, request.execution_error
                assert request.audit_entries.filter(action=Action.EXTERNAL).count() == 1
                endings["overwrote the outside deployment, recorded"] += 1
            else:
                # Ours went out over the approved plan; the outside deployment came after.
                assert history[:3] == [outside, request.build_sid, original], history[:3]
                endings["deployed, then the outside deployment"] += 1

    assert sum(endings.values()) == len(OUTSIDE_AT)
    assert not EnvironmentLock.objects.exists()


# --- the two interleavings that once broke the invariant, held open on purpose -----------------


def test_an_outside_deployment_during_the_approvals_last_read_is_not_deployed_over(
    upstream, django_user_model
):
    protect_production(upstream, required_approvals=1)
    rita = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = make_user(django_user_model, "anna", roles.APPROVER)
    stage, production = env(upstream, "stage"), env(upstream, "production")
    outside = outside_build(upstream, production.build_sid, stage.build_sid)
    request = request_promotion(upstream, rita)
    # The variables are the last read before the POST: held 200 ms, after the plan was read.
    held = upstream.faults.add(
        Fault(method="GET", path=r"/Variables$", status=None, delay_ms=200, count=1)
    )

    def deploy_outside() -> object:
        while not held.hits:
            time.sleep(0.0005)
        return upstream.store.deploy(production.sid, outside)

    approved, _ = race(
        lambda: approvals.request_approve(request_id=request.pk, actor=anna), deploy_outside
    )

    assert_decided_or_refused([approved])
    assert posts(upstream) == [], "deployed over the outside deployment"
    assert env(upstream, "production").build_sid == outside


def test_an_approval_given_while_another_voids_the_plan_does_not_count_for_the_new_plan(
    upstream, django_user_model, monkeypatch
):
    protect_production(upstream, required_approvals=1)
    rita = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    anna = make_user(django_user_model, "anna", roles.APPROVER)
    bob = make_user(django_user_model, "bob", roles.APPROVER)
    stage, production = env(upstream, "stage"), env(upstream, "production")
    request = request_promotion(upstream, rita)
    upstream.store.deploy(
        production.sid, outside_build(upstream, production.build_sid, stage.build_sid)
    )
    # Bob's approval stops between its checks (the request is open, on the old plan) and
    # its insert, until Anna's approval has found the plan changed and voided it.
    checked, voided = threading.Event(), threading.Event()
    require_approver = approvals._require_approver

    def held_for_bob(request, who, action) -> None:
        require_approver(request, who, action)
        if who.user.pk == bob.pk:
            checked.set()
            assert voided.wait(10)

    monkeypatch.setattr(approvals, "_require_approver", held_for_bob)

    def anna_voids() -> object:
        assert checked.wait(10)
        try:
            return approvals.request_approve(request_id=request.pk, actor=anna)
        finally:
            voided.set()

    bobs, annas = race(
        lambda: approvals.request_approve(request_id=request.pk, actor=bob), anna_voids
    )

    assert isinstance(annas, DecisionOutcome), annas
    assert "approvals were voided" in annas.message
    assert_decided_or_refused([bobs])
    assert posts(upstream) == [], "deployed the new plan on an approval of the old one"
    request.refresh_from_db()
    assert request.status == Status.OPEN
