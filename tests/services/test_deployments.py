"""Promote, roll back, restore and clear through services/deployments.py, on the emulator.

Each action is checked where it matters: what changed upstream (the emulator's state and
the POSTs it received), the audit entry, and the dashboard's own records. Refusals send
no POST and are audited; concurrent actions on one environment deploy once; an answer
lost in transit is settled by re-reading, never by a second deployment.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connections

from deployments_app import roles
from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentLock, EnvironmentState
from deployments_app.services import deployments, reconcile, records
from deployments_app.services.deployments import (
    ActionFailed,
    ActionRefused,
    deployment_promote,
    deployment_redeploy,
    deployment_restore,
    environment_clear,
)
from deployments_app.services.serverless import ServerlessClient, get_client
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
Action = AuditEntry.Action
IP = "203.0.113.7"
UNKNOWN_SERVICE = "ZS" + "0" * 32
UNKNOWN_ENVIRONMENT = "ZE" + "0" * 32


# --- helpers ---------------------------------------------------------------------------------


def make_user(django_user_model, username: str, role: str | None):
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user(username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def manager(django_user_model):
    return make_user(django_user_model, "rita", roles.RELEASE_MANAGER)


@pytest.fixture
def viewer(django_user_model):
    return make_user(django_user_model, "vera", roles.VIEWER)


def sent(upstream) -> list:
    """Every request the dashboard's client sent, once the emulator has logged them all.

    The emulator logs a request after answering it; a request the client gave up on
    (read timeout) is never logged.
    """
    stats = get_client().stats
    expected = stats.requests_sent - stats.timeouts
    deadline = time.monotonic() + 3
    while len(upstream.requests) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(upstream.requests)


def deployment_posts(upstream) -> list:
    return [r for r in sent(upstream) if r.method == "POST"]


def env(upstream, service: str, name: str):
    return upstream.store.environment_named(service, name)


def earlier_build(upstream, environment) -> str:
    """A completed build from the environment's history that is not live now."""
    for deployment in upstream.store.deployments(environment.sid):
        build_sid = deployment.build_sid
        if (
            build_sid
            and build_sid != environment.build_sid
            and upstream.store.build(build_sid).status == "completed"
        ):
            return build_sid
    raise AssertionError("no earlier completed build in the history")


def only_entry() -> AuditEntry:
    entries = list(AuditEntry.objects.all())
    assert len(entries) == 1, entries
    return entries[0]


# --- each action's success -------------------------------------------------------------------


def test_promote_deploys_the_source_build_and_records_who_did_it(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    assert dev.build_sid != stage.build_sid

    outcome = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
        client_ip=IP,
    )

    assert env(upstream, "ivr-flows", "stage").build_sid == dev.build_sid
    posts = deployment_posts(upstream)
    assert [(p.path, p.form) for p in posts] == [
        (
            f"/v1/Services/{dev.service_sid}/Environments/{stage.sid}/Deployments",
            {"BuildSid": [dev.build_sid]},
        )
    ]
    # One pass: the service and both environments read once (one concurrent round),
    # then the source's build and the target's live build (which way it moves, by their
    # dates) in a second round; nothing read twice.
    service_path = f"/v1/Services/{dev.service_sid}"
    assert sorted(r.path for r in sent(upstream) if r.method == "GET") == sorted(
        [
            service_path,
            f"{service_path}/Environments/{stage.sid}",
            f"{service_path}/Environments/{dev.sid}",
            f"{service_path}/Builds/{dev.build_sid}",
            f"{service_path}/Builds/{stage.build_sid}",
        ]
    )
    newest = upstream.store.deployments(stage.sid)[0]
    entry = only_entry()
    assert entry == outcome.entry
    assert (entry.actor, entry.client_ip, entry.via, entry.action) == (
        "rita",
        IP,
        "web",
        Action.PROMOTE,
    )
    assert (entry.service_sid, entry.service_name) == (dev.service_sid, "IVR Flows")
    assert (entry.environment_sid, entry.environment_name) == (stage.sid, "stage")
    assert (entry.source_environment_sid, entry.source_environment_name) == (dev.sid, "dev")
    assert entry.build_sid == dev.build_sid
    assert entry.previous_build_sid == stage.build_sid
    assert entry.deployment_sid == newest.sid
    assert entry.outcome == Outcome.SUCCEEDED
    assert entry.completed_at is not None
    assert entry.error_message == ""
    assert outcome.message.startswith(f"Promoted {dev.build_sid} in stage")
    assert outcome.deployment is not None
    assert (outcome.deployment.build_sid, outcome.deployment.environment_sid) == (
        dev.build_sid,
        stage.sid,
    )

    record = DeploymentRecord.objects.get(deployment_sid=newest.sid)
    assert (record.environment_sid, record.build_sid, record.deployed_by) == (
        stage.sid,
        dev.build_sid,
        "rita",
    )
    assert record.audit_entry == entry
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.known, state.last_action, state.external_change) == (
        dev.build_sid,
        True,
        entry,
        None,
    )
    assert not EnvironmentLock.objects.exists()


def test_redeploy_rolls_back_to_a_build_of_the_history_with_its_reason(upstream, manager):
    production = env(upstream, "ivr-flows", "production")
    target = earlier_build(upstream, production)

    outcome = deployment_redeploy(
        actor=manager,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        build_sid=target,
        reason="  5xx on /voice/incoming since the release  ",
        client_ip=IP,
        via="cli",
    )

    assert env(upstream, "ivr-flows", "production").build_sid == target
    assert [p.form for p in deployment_posts(upstream)] == [{"BuildSid": [target]}]
    entry = only_entry()
    assert (entry.action, entry.via, entry.outcome) == (Action.REDEPLOY, "cli", Outcome.SUCCEEDED)
    assert entry.reason == "5xx on /voice/incoming since the release"
    assert (entry.build_sid, entry.previous_build_sid) == (target, production.build_sid)
    assert entry.deployment_sid == upstream.store.deployments(production.sid)[0].sid
    assert outcome.message.startswith(f"Rolled back to {target}")
    record = DeploymentRecord.objects.get(deployment_sid=entry.deployment_sid)
    assert (record.deployed_by, record.build_sid) == ("rita", target)
    state = EnvironmentState.objects.get(environment_sid=production.sid)
    assert (state.expected_build_sid, state.last_action) == (target, entry)


def test_clear_empties_the_environment_and_marks_earlier_records_cleared(upstream, manager):
    stage = env(upstream, "partner-portal", "stage")
    history = get_client().deployment_iter(service_sid=stage.service_sid, environment_sid=stage.sid)
    reconcile.history_record(
        service_sid=stage.service_sid, environment_sid=stage.sid, deployments=list(history)
    )
    seen = DeploymentRecord.objects.count()
    assert seen == len(upstream.store.deployments(stage.sid)) > 1

    outcome = environment_clear(
        actor=manager,
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        confirmation=" stage ",
        client_ip=IP,
    )

    assert env(upstream, "partner-portal", "stage").build_sid is None
    assert [p.form for p in deployment_posts(upstream)] == [{}]
    entry = only_entry()
    assert (entry.action, entry.outcome) == (Action.CLEAR, Outcome.SUCCEEDED)
    assert (entry.build_sid, entry.previous_build_sid) == ("", stage.build_sid)
    assert outcome.message.startswith("Cleared stage")
    # Upstream the history is gone; ours is kept, marked, and the clear itself recorded.
    assert [d.sid for d in upstream.store.deployments(stage.sid)] == [entry.deployment_sid]
    earlier = DeploymentRecord.objects.exclude(deployment_sid=entry.deployment_sid)
    assert earlier.count() == seen
    assert not earlier.filter(cleared_upstream_at__isnull=True).exists()
    clear_record = DeploymentRecord.objects.get(deployment_sid=entry.deployment_sid)
    assert (clear_record.build_sid, clear_record.deployed_by) == ("", "rita")
    assert clear_record.cleared_upstream_at is None
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.last_action) == ("", entry)
    assert records.restorable_clear(environment_sid=stage.sid) == entry


def test_restore_redeploys_the_build_that_was_live_before_the_clear(upstream, manager):
    stage = env(upstream, "partner-portal", "stage")
    clear = environment_clear(
        actor=manager,
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        confirmation="stage",
    ).entry

    outcome = deployment_restore(
        actor=manager, service_sid=stage.service_sid, environment_sid=stage.sid, client_ip=IP
    )

    assert env(upstream, "partner-portal", "stage").build_sid == stage.build_sid
    assert [p.form for p in deployment_posts(upstream)] == [{}, {"BuildSid": [stage.build_sid]}]
    entry = outcome.entry
    assert (entry.action, entry.outcome, entry.actor) == (Action.RESTORE, Outcome.SUCCEEDED, "rita")
    assert (entry.build_sid, entry.previous_build_sid) == (stage.build_sid, "")
    assert entry.deployment_sid == upstream.store.deployments(stage.sid)[0].sid
    assert outcome.message.startswith(f"Restored {stage.build_sid}")
    assert DeploymentRecord.objects.get(deployment_sid=entry.deployment_sid).deployed_by == "rita"
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.last_action) == (stage.build_sid, entry)
    assert list(AuditEntry.objects.order_by("id")) == [clear, entry]
    # Restored once: there is nothing left to restore.
    assert records.restorable_clear(environment_sid=stage.sid) is None


def test_promoting_a_build_already_live_on_the_target_is_a_noop(upstream, manager):
    dev, stage = (
        env(upstream, "sms-notifications", "dev"),
        env(upstream, "sms-notifications", "stage"),
    )
    assert dev.build_sid == stage.build_sid
    before = len(upstream.store.deployments(stage.sid))

    outcome = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )

    assert deployment_posts(upstream) == []
    assert len(upstream.store.deployments(stage.sid)) == before
    entry = only_entry()
    assert (entry.outcome, entry.deployment_sid, entry.build_sid) == (
        Outcome.NOOP,
        "",
        dev.build_sid,
    )
    assert "already live in stage; nothing changed" in outcome.message
    assert not EnvironmentState.objects.exists()
    assert not DeploymentRecord.objects.exists()


def test_twilio_409_already_deployed_becomes_a_noop_without_a_second_deployment(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    before = len(upstream.store.deployments(stage.sid))
    # Twilio says the build is already live (409, code 20409) though our read said not.
    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=409, count=1))

    outcome = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )

    assert [p.status for p in deployment_posts(upstream)] == [409]
    assert len(upstream.store.deployments(stage.sid)) == before
    assert (outcome.entry.outcome, outcome.entry.deployment_sid) == (Outcome.NOOP, "")
    assert only_entry() == outcome.entry
    assert not DeploymentRecord.objects.exists()


def test_clearing_an_empty_environment_is_a_noop(upstream, manager):
    production = env(upstream, "billing-webhooks", "production")
    assert production.build_sid is None

    outcome = environment_clear(
        actor=manager,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        confirmation="production",
    )

    assert deployment_posts(upstream) == []
    assert upstream.store.deployments(production.sid) == []
    assert (outcome.entry.action, outcome.entry.outcome) == (Action.CLEAR, Outcome.NOOP)
    assert outcome.message == "production is already clear; nothing changed."


def test_a_second_clear_is_a_noop_after_the_first_deployed_nothing(upstream, manager):
    production = env(upstream, "ivr-flows", "production")
    assert production.build_sid

    first = environment_clear(
        actor=manager,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        confirmation="production",
    )
    again = environment_clear(
        actor=manager,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        confirmation="production",
    )

    assert first.deployment is not None
    assert first.deployment.build_sid is None
    assert (first.entry.outcome, again.entry.outcome) == (Outcome.SUCCEEDED, Outcome.NOOP)
    assert again.deployment is None
    assert [p.form for p in deployment_posts(upstream)] == [{}]


def test_the_client_turns_twilio_409_into_an_already_live_result(api, upstream, recorded):
    dev = env(upstream, "ivr-flows", "dev")
    result = api.deployment_create(
        service_sid=dev.service_sid, environment_sid=dev.sid, build_sid=dev.build_sid
    )
    assert result.already_live
    assert result.deployment is None
    assert [r.status for r in recorded() if r.method == "POST"] == [409]


# --- refusals: no POST, one `refused` entry with the message ---------------------------------


def assert_refused(upstream, caught, *, status: int, message: str, actor: str = "rita") -> None:
    error = caught.value
    assert error.status == status
    assert message in error.message
    entry = only_entry()
    assert error.entry == entry
    assert (entry.outcome, entry.actor) == (Outcome.REFUSED, actor)
    assert entry.error_message == error.message
    assert entry.completed_at is not None
    assert deployment_posts(upstream) == []
    assert not EnvironmentLock.objects.exists()
    assert not DeploymentRecord.objects.exists()


def test_a_viewer_may_not_promote(upstream, viewer):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    with pytest.raises(ActionRefused) as caught:
        deployment_promote(
            actor=viewer,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=stage.sid,
            client_ip=IP,
        )
    assert_refused(upstream, caught, status=403, message="role does not allow", actor="vera")
    assert (caught.value.entry.client_ip, caught.value.entry.environment_sid) == (IP, stage.sid)
    # Refused before any read: Twilio heard nothing at all.
    assert sent(upstream) == []


@pytest.mark.parametrize("who", ["viewer", "anonymous"])
def test_only_release_managers_may_clear(upstream, viewer, who):
    stage = env(upstream, "ivr-flows", "stage")
    actor = viewer if who == "viewer" else AnonymousUser()
    with pytest.raises(ActionRefused) as caught:
        environment_clear(
            actor=actor,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            confirmation="stage",
        )
    expected_actor = "vera" if who == "viewer" else ""
    assert_refused(
        upstream, caught, status=403, message="role does not allow", actor=expected_actor
    )
    assert env(upstream, "ivr-flows", "stage").build_sid == stage.build_sid


@pytest.mark.parametrize(
    ("service_sid", "environment_sid", "build_sid", "named"),
    [
        ("ZS123", UNKNOWN_ENVIRONMENT, "ZB" + "1" * 32, "service"),
        (UNKNOWN_SERVICE, "ZEnot-a-sid", "ZB" + "1" * 32, "environment"),
        (UNKNOWN_SERVICE, UNKNOWN_ENVIRONMENT, "ZE" + "1" * 32, "build"),
        (UNKNOWN_SERVICE, UNKNOWN_ENVIRONMENT, "../Builds", "build"),
    ],
)
def test_malformed_sids_are_refused_before_any_request(
    upstream, manager, service_sid, environment_sid, build_sid, named
):
    with pytest.raises(ActionRefused) as caught:
        deployment_redeploy(
            actor=manager,
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=build_sid,
        )
    assert_refused(upstream, caught, status=400, message=f"is not a valid {named} SID")
    assert sent(upstream) == []


@pytest.mark.parametrize(
    ("source", "target", "named"),
    [
        ("ZEnot-a-sid", "ZE" + "1" * 32, "source environment"),
        ("ZE" + "0" * 32, "ZB" + "1" * 32, "environment"),
    ],
)
def test_a_promote_with_a_malformed_sid_is_refused_before_any_request(
    upstream, manager, source, target, named
):
    with pytest.raises(ActionRefused) as caught:
        deployment_promote(
            actor=manager,
            service_sid=UNKNOWN_SERVICE,
            source_environment_sid=source,
            target_environment_sid=target,
        )
    assert_refused(upstream, caught, status=400, message=f"is not a valid {named} SID")
    assert sent(upstream) == []


def test_an_unknown_service_or_environment_is_refused_as_not_found(upstream, manager):
    ivr = env(upstream, "ivr-flows", "stage")
    other = env(upstream, "sms-notifications", "stage")
    for service_sid, environment_sid in [
        (UNKNOWN_SERVICE, ivr.sid),
        (ivr.service_sid, UNKNOWN_ENVIRONMENT),
        # An environment of another service is not one of this service's.
        (ivr.service_sid, other.sid),
    ]:
        with pytest.raises(ActionRefused) as caught:
            environment_clear(
                actor=manager,
                service_sid=service_sid,
                environment_sid=environment_sid,
                confirmation="stage",
            )
        assert caught.value.status == 404
        assert caught.value.message == "No such service or environment."
        assert caught.value.entry.outcome == Outcome.REFUSED
    assert AuditEntry.objects.filter(outcome=Outcome.REFUSED).count() == 3
    assert deployment_posts(upstream) == []
    assert env(upstream, "sms-notifications", "stage").build_sid == other.build_sid


@pytest.mark.parametrize("status", ["building", "failed"])
def test_a_build_that_is_not_completed_is_refused(upstream, manager, status):
    stage = env(upstream, "ivr-flows", "stage")
    build = next(b for b in upstream.store.builds("ivr-flows") if b.status == status)
    with pytest.raises(ActionRefused) as caught:
        deployment_redeploy(
            actor=manager,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            build_sid=build.sid,
        )
    assert_refused(upstream, caught, status=400, message=f"is {status}, not completed")
    assert caught.value.entry.previous_build_sid == stage.build_sid


def test_promoting_a_source_whose_build_is_not_completed_is_refused(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    upstream.store.set_build_status(dev.build_sid, "failed")
    with pytest.raises(ActionRefused) as caught:
        deployment_promote(
            actor=manager,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=stage.sid,
        )
    assert_refused(upstream, caught, status=400, message="is failed, not completed")
    assert env(upstream, "ivr-flows", "stage").build_sid == stage.build_sid


def test_a_build_of_another_service_is_refused(upstream, manager):
    stage = env(upstream, "ivr-flows", "stage")
    foreign = env(upstream, "sms-notifications", "stage").build_sid
    with pytest.raises(ActionRefused) as caught:
        deployment_redeploy(
            actor=manager,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            build_sid=foreign,
        )
    assert_refused(upstream, caught, status=400, message="does not belong to this service")


def test_a_build_never_deployed_to_the_environment_is_not_a_rollback(upstream, manager):
    production = env(upstream, "ivr-flows", "production")
    newer = env(upstream, "ivr-flows", "dev").build_sid
    with pytest.raises(ActionRefused) as caught:
        deployment_redeploy(
            actor=manager,
            service_sid=production.service_sid,
            environment_sid=production.sid,
            build_sid=newer,
        )
    assert_refused(upstream, caught, status=400, message="was never deployed to production")


def test_promoting_from_an_empty_environment_is_refused(upstream, manager):
    production = env(upstream, "billing-webhooks", "production")
    stage = env(upstream, "billing-webhooks", "stage")
    with pytest.raises(ActionRefused) as caught:
        deployment_promote(
            actor=manager,
            service_sid=production.service_sid,
            source_environment_sid=production.sid,
            target_environment_sid=stage.sid,
        )
    assert_refused(upstream, caught, status=400, message="Nothing is live in production")


def test_promoting_an_environment_onto_itself_is_refused(upstream, manager):
    dev = env(upstream, "ivr-flows", "dev")
    with pytest.raises(ActionRefused) as caught:
        deployment_promote(
            actor=manager,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=dev.sid,
        )
    assert_refused(upstream, caught, status=400, message="target environment is the source")


@pytest.mark.parametrize("confirmation", ["", "prod", "Production", "stage"])
def test_a_clear_needs_the_environment_name_typed_exactly(upstream, manager, confirmation):
    production = env(upstream, "ivr-flows", "production")
    with pytest.raises(ActionRefused) as caught:
        environment_clear(
            actor=manager,
            service_sid=production.service_sid,
            environment_sid=production.sid,
            confirmation=confirmation,
        )
    assert_refused(upstream, caught, status=400, message="Type the environment's name, production")
    assert env(upstream, "ivr-flows", "production").build_sid == production.build_sid


def test_restore_without_an_earlier_clear_is_refused(upstream, manager):
    stage = env(upstream, "ivr-flows", "stage")
    with pytest.raises(ActionRefused) as caught:
        deployment_restore(actor=manager, service_sid=stage.service_sid, environment_sid=stage.sid)
    assert_refused(upstream, caught, status=409, message="nothing to restore")
    assert caught.value.entry.action == Action.RESTORE


# --- exactly once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_promotions_deploy_once(upstream, django_user_model):
    user = make_user(django_user_model, "rita", roles.RELEASE_MANAGER)
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    before = len(upstream.store.deployments(stage.sid))
    # Slow enough that all ten are past their reads while the winner holds the lock.
    upstream.faults.latency_ms = 300
    start = threading.Barrier(10)
    results: list[object] = []

    def promote() -> None:
        try:
            start.wait()
            results.append(
                deployment_promote(
                    actor=user,
                    service_sid=dev.service_sid,
                    source_environment_sid=dev.sid,
                    target_environment_sid=stage.sid,
                )
            )
        except Exception as exc:  # collected and checked below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=promote) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 10
    refusals = [r for r in results if isinstance(r, ActionRefused)]
    done = [r for r in results if isinstance(r, deployments.ActionOutcome)]
    assert len(done) == 1, results
    assert len(refusals) == 9, results
    assert all(r.status == 409 and "already in progress" in r.message for r in refusals)
    assert len(deployment_posts(upstream)) == 1
    assert len(upstream.store.deployments(stage.sid)) == before + 1
    assert env(upstream, "ivr-flows", "stage").build_sid == dev.build_sid
    assert AuditEntry.objects.filter(outcome=Outcome.SUCCEEDED).count() == 1
    assert AuditEntry.objects.filter(outcome=Outcome.REFUSED).count() == 9
    assert not EnvironmentLock.objects.exists()


# --- answers lost in transit -----------------------------------------------------------------


def test_a_timeout_after_the_deployment_took_effect_is_settled_by_rereading(
    upstream, manager, settings
):
    settings.TWILIO_READ_TIMEOUT = 0.5
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    before = len(upstream.store.deployments(stage.sid))
    upstream.faults.add(
        Fault(
            method="POST",
            path=r"/Deployments$",
            status=None,
            delay_ms=2000,
            after_effect=True,
            count=1,
        )
    )

    outcome = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )

    assert outcome.confirmed_by_reread
    deployments_now = upstream.store.deployments(stage.sid)
    assert len(deployments_now) == before + 1, "exactly one deployment, never a second"
    assert get_client().stats.timeouts == 1
    entry = only_entry()
    assert entry.outcome == Outcome.SUCCEEDED
    # The deployment was found in the history by the re-read.
    assert entry.deployment_sid == deployments_now[0].sid
    record = DeploymentRecord.objects.get(deployment_sid=deployments_now[0].sid)
    assert record.deployed_by == "rita"
    assert EnvironmentState.objects.get(environment_sid=stage.sid).last_action == entry
    assert not EnvironmentLock.objects.exists()


def test_a_503_before_the_deployment_is_a_failure_with_twilio_code(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    before = len(upstream.store.deployments(stage.sid))
    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=503, count=1))

    with pytest.raises(ActionFailed) as caught:
        deployment_promote(
            actor=manager,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=stage.sid,
        )

    assert caught.value.status == 502
    assert "Nothing changed; you can try again" in caught.value.message
    assert [p.status for p in deployment_posts(upstream)] == [503]
    assert len(upstream.store.deployments(stage.sid)) == before
    entry = only_entry()
    assert caught.value.entry == entry
    assert (entry.outcome, entry.error_code) == (Outcome.FAILED, 20503)
    # Everyone sees the page's sentence; the upstream's own words are for administrators.
    assert entry.error_message == caught.value.message
    assert entry.error_kind == "deployment_not_applied"
    assert "The deployment did not take effect (Service Unavailable)" in entry.error_detail
    assert entry.previous_build_sid == stage.build_sid
    assert not EnvironmentState.objects.exists()
    assert not EnvironmentLock.objects.exists()


def test_a_failed_read_under_the_lock_is_an_audited_failure(
    upstream, manager, settings, monkeypatch
):
    settings.TWILIO_MAX_ATTEMPTS = 1
    stage = env(upstream, "partner-portal", "stage")
    real_lock = deployments.environment_lock

    @contextmanager
    def lock_then_twilio_fails(**kwargs):
        with real_lock(**kwargs) as token:
            upstream.faults.add(
                Fault(method="GET", path=f"/Environments/{stage.sid}$", status=503, count=None)
            )
            yield token

    monkeypatch.setattr(deployments, "environment_lock", lock_then_twilio_fails)
    with pytest.raises(ActionFailed) as caught:
        environment_clear(
            actor=manager,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            confirmation="stage",
        )

    entry = only_entry()
    assert caught.value.entry == entry
    assert (entry.outcome, entry.error_code) == (Outcome.FAILED, 20503)
    assert deployment_posts(upstream) == []
    assert not EnvironmentLock.objects.exists()


def test_a_worker_interrupted_after_the_post_leaves_an_unknown_entry(
    upstream, manager, monkeypatch
):
    stage = env(upstream, "partner-portal", "stage")
    real_create = ServerlessClient.deployment_create

    def clear_then_die(self, **kwargs):
        real_create(self, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ServerlessClient, "deployment_create", clear_then_die)
    with pytest.raises(KeyboardInterrupt):
        environment_clear(
            actor=manager,
            service_sid=stage.service_sid,
            environment_sid=stage.sid,
            confirmation="stage",
        )

    entry = only_entry()
    assert (entry.outcome, entry.error_message) == (Outcome.UNKNOWN, "Interrupted mid-call.")
    assert not EnvironmentLock.objects.exists()
    # The next read of the environment finds it empty: the clear did happen.
    environment = get_client().environment_get(
        service_sid=stage.service_sid, environment_sid=stage.sid
    )
    report = reconcile.environments_reconcile(environments=[environment])
    notes = records.environment_notes(environments=[environment])
    entry.refresh_from_db()
    assert report.entries_settled == 1
    assert entry.outcome == Outcome.SUCCEEDED
    assert entry.error_message == "Reconciled: the environment runs nothing."
    assert notes[stage.sid].cleared is not None
    assert notes[stage.sid].changed_outside is None
    assert AuditEntry.objects.count() == 1


def test_an_unreachable_redis_lock_is_an_audited_failure_with_nothing_sent(
    upstream, manager, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")

    with pytest.raises(ActionFailed) as caught:
        deployment_promote(
            actor=manager,
            service_sid=dev.service_sid,
            source_environment_sid=dev.sid,
            target_environment_sid=stage.sid,
        )

    assert "deployment lock (Redis) cannot be reached" in caught.value.message
    entry = only_entry()
    assert caught.value.entry == entry
    assert entry.outcome == Outcome.FAILED
    assert entry.error_message == caught.value.message
    assert entry.error_detail == "Lock unavailable (ConnectionError)."
    assert deployment_posts(upstream) == []
    assert env(upstream, "ivr-flows", "stage").build_sid == stage.build_sid
