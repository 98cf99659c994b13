"""The dashboard's own records: written by services/reconcile.py, read by services/records.py.

Deployments seen are recorded once; who deployed what is kept; an environment changed
outside the dashboard is recorded once by a reconcile (and shown, unrecorded, by a read
before that); entries left behind by a dead worker are settled by what is live; and each
environment gets the note the pages show. Reading notes never writes.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from deployments_app import roles
from deployments_app.models import AuditEntry, DeploymentRecord, EnvironmentState
from deployments_app.services.deployments import (
    deployment_promote,
    deployment_redeploy,
    deployment_restore,
    environment_clear,
)
from deployments_app.services.locks import LOCK_SECONDS
from deployments_app.services.reconcile import (
    STALE_READ_SECONDS,
    environments_reconcile,
    history_record,
)
from deployments_app.services.records import (
    EnvironmentNote,
    OutsideChange,
    deployers,
    durable_history,
    environment_notes,
)
from deployments_app.services.serverless import get_client

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
Action = AuditEntry.Action


@pytest.fixture
def manager(django_user_model):
    roles.ensure_role_groups()
    user = django_user_model.objects.create_user("rita")
    user.groups.add(Group.objects.get(name=roles.RELEASE_MANAGER))
    return user


def env(upstream, service: str, name: str):
    return upstream.store.environment_named(service, name)


def read(upstream, *stored):
    """The environments as the dashboard reads them from Twilio."""
    client = get_client()
    return [
        client.environment_get(service_sid=e.service_sid, environment_sid=e.sid) for e in stored
    ]


def read_all(upstream):
    client = get_client()
    services = [s.sid for s in upstream.store.services()]
    per_service = client.read_many(lambda sid: client.environment_list(service_sid=sid), services)
    return [e for environments in per_service for e in environments]


def observe(*, environments):
    """What a reconcile does with freshly read environments, then what a page shows."""
    environments_reconcile(environments=environments)
    return environment_notes(environments=environments)


def recorded_change(entry) -> OutsideChange:
    return OutsideChange(
        previous_build_sid=entry.previous_build_sid,
        build_sid=entry.build_sid,
        recorded_at=entry.created_at,
        entry=entry,
    )


def history(upstream, stored):
    client = get_client()
    return list(client.deployment_iter(service_sid=stored.service_sid, environment_sid=stored.sid))


def earlier_build(upstream, stored) -> str:
    for deployment in upstream.store.deployments(stored.sid):
        build_sid = deployment.build_sid
        if (
            build_sid
            and build_sid != stored.build_sid
            and upstream.store.build(build_sid).status == "completed"
        ):
            return build_sid
    raise AssertionError("no earlier completed build")


def abandoned(stored, *, action: str, build_sid: str, outcome=Outcome.PENDING, age: float):
    """An entry as a worker that died mid-call leaves it: written, never completed."""
    return AuditEntry.objects.create(
        created_at=timezone.now() - timedelta(seconds=age),
        action=action,
        actor="rita",
        service_sid=stored.service_sid,
        environment_sid=stored.sid,
        environment_name=stored.unique_name,
        build_sid=build_sid,
        previous_build_sid=stored.build_sid or "",
        outcome=outcome,
        error_message="Interrupted mid-call." if outcome == Outcome.UNKNOWN else "",
    )


# --- deployments seen ------------------------------------------------------------------------


def test_history_record_records_every_deployment_once(upstream, django_assert_num_queries):
    dev = env(upstream, "ivr-flows", "dev")
    deployments = history(upstream, dev)
    assert len(deployments) == 180

    first = history_record(
        service_sid=dev.service_sid, environment_sid=dev.sid, deployments=deployments
    )
    second = history_record(
        service_sid=dev.service_sid, environment_sid=dev.sid, deployments=deployments
    )

    assert (first, second) == (180, 0)

    records = DeploymentRecord.objects.filter(environment_sid=dev.sid)
    assert records.count() == 180
    newest = records.first()
    assert newest is not None
    assert (newest.deployment_sid, newest.build_sid, newest.service_sid) == (
        deployments[0].sid,
        deployments[0].build_sid,
        dev.service_sid,
    )
    assert newest.date_created == deployments[0].date_created
    assert (newest.deployed_by, newest.cleared_upstream_at) == ("", None)
    # Cheap on every reconcile: nothing new costs one read-only query.
    with django_assert_num_queries(1):
        history_record(
            service_sid=dev.service_sid, environment_sid=dev.sid, deployments=deployments[:50]
        )
    with django_assert_num_queries(0):
        history_record(service_sid=dev.service_sid, environment_sid=dev.sid, deployments=[])


def test_history_record_keeps_who_deployed(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    promoted = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    ).entry

    history_record(
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        deployments=history(upstream, stage),
    )

    assert DeploymentRecord.objects.filter(environment_sid=stage.sid).count() == len(
        upstream.store.deployments(stage.sid)
    )
    record = DeploymentRecord.objects.get(deployment_sid=promoted.deployment_sid)
    assert (record.deployed_by, record.audit_entry) == ("rita", promoted)


def test_deployers_names_who_made_the_deployments_made_here(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    deployment_sid = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    ).entry.deployment_sid
    deployments = history(upstream, stage)
    history_record(
        service_sid=stage.service_sid, environment_sid=stage.sid, deployments=deployments
    )

    found = deployers(deployment_sids=(d.sid for d in deployments))

    assert found == {deployment_sid: "rita"}
    assert deployers(deployment_sids=[]) == {}


# --- environments: baseline and outside changes ----------------------------------------------


def test_first_observation_is_a_baseline_not_a_change(upstream, django_assert_max_num_queries):
    environments = read_all(upstream)
    assert len(environments) == 15

    with django_assert_max_num_queries(3):
        report = environments_reconcile(environments=environments)
    with django_assert_max_num_queries(2):
        notes = environment_notes(environments=environments)

    assert (report.environments, report.baselines, report.outside_changes) == (15, 15, 0)
    assert notes == {e.sid: EnvironmentNote() for e in environments}
    states = {s.environment_sid: s for s in EnvironmentState.objects.all()}
    assert {sid: (s.known, s.expected_build_sid) for sid, s in states.items()} == {
        e.sid: (True, e.build_sid or "") for e in environments
    }
    assert not AuditEntry.objects.exists()
    # Every later reconcile of an unchanged account: two queries for all its environments.
    with django_assert_max_num_queries(2):
        environments_reconcile(environments=read_all(upstream))
    assert not AuditEntry.objects.exists()
    assert observe(environments=[]) == {}


def test_a_change_made_outside_the_dashboard_is_recorded_once(upstream):
    stage = env(upstream, "ivr-flows", "stage")
    observe(environments=read_all(upstream))
    target = earlier_build(upstream, stage)
    upstream.store.deploy(stage.sid, target)

    # A page read before the next reconcile shows the change, and writes nothing.
    before = environment_notes(environments=read_all(upstream))
    assert before[stage.sid].changed_outside == OutsideChange(
        previous_build_sid=stage.build_sid, build_sid=target, recorded_at=None
    )
    assert not AuditEntry.objects.exists()
    assert EnvironmentState.objects.get(environment_sid=stage.sid).expected_build_sid == (
        stage.build_sid
    )

    notes = observe(environments=read_all(upstream))

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.via, entry.outcome) == (
        Action.EXTERNAL,
        "",
        "system",
        Outcome.SUCCEEDED,
    )
    assert (entry.service_sid, entry.environment_sid, entry.environment_name) == (
        stage.service_sid,
        stage.sid,
        "stage",
    )
    assert (entry.previous_build_sid, entry.build_sid) == (stage.build_sid, target)
    assert "seen at" in entry.error_message
    assert entry.completed_at is not None
    assert notes[stage.sid] == EnvironmentNote(changed_outside=recorded_change(entry))
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.external_change) == (target, entry)
    assert all(note == EnvironmentNote() for sid, note in notes.items() if sid != stage.sid)

    again = observe(environments=read_all(upstream))
    assert AuditEntry.objects.count() == 1
    assert again[stage.sid].changed_outside == recorded_change(entry)


def test_an_outside_clear_after_a_dashboard_action_is_noticed(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    promoted = deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    ).entry
    assert observe(environments=read(upstream, stage))[stage.sid] == EnvironmentNote()

    upstream.store.deploy(stage.sid, None)
    notes = observe(environments=read(upstream, stage))

    external = AuditEntry.objects.get(action=Action.EXTERNAL)
    assert (external.previous_build_sid, external.build_sid) == (dev.build_sid, "")
    assert notes[stage.sid].changed_outside == recorded_change(external)
    # Our last action was not a clear: nothing for "Restore" to offer.
    assert notes[stage.sid].cleared is None
    assert EnvironmentState.objects.get(environment_sid=stage.sid).last_action == promoted


def test_the_next_dashboard_action_supersedes_an_outside_change(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    upstream.store.deploy(stage.sid, earlier_build(upstream, stage))
    assert observe(environments=read(upstream, stage))[stage.sid].changed_outside

    deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )

    assert observe(environments=read(upstream, stage))[stage.sid] == EnvironmentNote()
    assert AuditEntry.objects.filter(action=Action.EXTERNAL).count() == 1


def test_a_read_from_before_an_action_is_not_an_outside_change(upstream, manager):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    stale = read(upstream, stage)  # a page's read, answered while the promotion runs

    deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=stage.sid,
    )
    notes = observe(environments=stale)

    assert notes[stage.sid].changed_outside is None
    assert not AuditEntry.objects.filter(action=Action.EXTERNAL).exists()
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert state.expected_build_sid == dev.build_sid


def test_an_environment_with_an_action_in_flight_is_not_flagged(upstream):
    stage = env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    target = earlier_build(upstream, stage)
    # A worker holds the lock and has just written its entry; its POST has landed.
    in_flight = abandoned(stage, action=Action.REDEPLOY, build_sid=target, age=1)
    upstream.store.deploy(stage.sid, target)

    notes = observe(environments=read(upstream, stage))

    assert notes[stage.sid].changed_outside is None
    in_flight.refresh_from_db()
    assert in_flight.outcome == Outcome.PENDING
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_reconciles_record_an_outside_change_once(upstream):
    stage = env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    upstream.store.deploy(stage.sid, earlier_build(upstream, stage))
    seen = read(upstream, stage)
    start = threading.Barrier(8)
    failures: list[Exception] = []

    def reconcile() -> None:
        try:
            start.wait()
            environments_reconcile(environments=seen)
        except Exception as exc:  # collected and checked below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reconcile) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert AuditEntry.objects.filter(action=Action.EXTERNAL).count() == 1


# --- entries left behind by a worker that died -----------------------------------------------


def test_a_crashed_action_whose_deployment_landed_is_settled_as_succeeded(upstream):
    dev, stage = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    crashed = abandoned(stage, action=Action.PROMOTE, build_sid=dev.build_sid, age=LOCK_SECONDS + 5)
    upstream.store.deploy(stage.sid, dev.build_sid)  # its POST went through, then it died

    notes = observe(environments=read(upstream, stage))

    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.SUCCEEDED
    assert crashed.completed_at is not None
    assert crashed.error_message == f"Reconciled: the environment runs {dev.build_sid}."
    # It is what we expect now, not a change made outside.
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.last_action) == (dev.build_sid, crashed)
    assert notes[stage.sid] == EnvironmentNote()
    assert AuditEntry.objects.count() == 1


def test_a_crashed_action_that_never_landed_is_settled_as_failed(upstream):
    stage = env(upstream, "ivr-flows", "stage")
    observe(environments=read(upstream, stage))
    crashed = abandoned(
        stage,
        action=Action.REDEPLOY,
        build_sid=earlier_build(upstream, stage),
        age=LOCK_SECONDS + 5,
    )

    notes = observe(environments=read(upstream, stage))

    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.FAILED
    assert crashed.error_message == f"Reconciled: the environment runs {stage.build_sid}."
    assert notes[stage.sid] == EnvironmentNote()
    state = EnvironmentState.objects.get(environment_sid=stage.sid)
    assert (state.expected_build_sid, state.last_action) == (stage.build_sid, None)
    assert AuditEntry.objects.count() == 1


def test_a_crashed_clear_is_settled_by_an_empty_environment(upstream, manager):
    stage = env(upstream, "partner-portal", "stage")
    history_record(
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        deployments=history(upstream, stage),
    )
    observe(environments=read(upstream, stage))
    crashed = abandoned(stage, action=Action.CLEAR, build_sid="", age=LOCK_SECONDS + 5)
    upstream.store.deploy(stage.sid, None)

    notes = observe(environments=read(upstream, stage))

    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.SUCCEEDED
    assert crashed.error_message == "Reconciled: the environment runs nothing."
    assert notes[stage.sid].cleared is not None
    assert notes[stage.sid].cleared.previous_build_sid == stage.build_sid
    assert len(durable_history(environment_sid=stage.sid)) == DeploymentRecord.objects.count()
    # ...and "Restore" redeploys what was live before it.
    restored = deployment_restore(
        actor=manager, service_sid=stage.service_sid, environment_sid=stage.sid
    )
    assert restored.entry.build_sid == stage.build_sid
    assert env(upstream, "partner-portal", "stage").build_sid == stage.build_sid


def test_an_unknown_outcome_is_settled_at_once_only_when_it_landed(upstream):
    stage = env(upstream, "ivr-flows", "stage")
    production = env(upstream, "ivr-flows", "production")
    observe(environments=read(upstream, stage, production))
    target = earlier_build(upstream, stage)
    landed = abandoned(
        stage, action=Action.REDEPLOY, build_sid=target, outcome=Outcome.UNKNOWN, age=1
    )
    upstream.store.deploy(stage.sid, target)
    # Its deployment may still land: not failed while a read could predate it.
    recent = abandoned(
        production,
        action=Action.REDEPLOY,
        build_sid=earlier_build(upstream, production),
        outcome=Outcome.UNKNOWN,
        age=1,
    )

    observe(environments=read(upstream, stage, production))

    landed.refresh_from_db()
    recent.refresh_from_db()
    assert landed.outcome == Outcome.SUCCEEDED
    assert recent.outcome == Outcome.UNKNOWN

    old = abandoned(
        production,
        action=Action.REDEPLOY,
        build_sid=recent.build_sid,
        outcome=Outcome.UNKNOWN,
        age=STALE_READ_SECONDS + 5,
    )
    observe(environments=read(upstream, stage, production))
    old.refresh_from_db()
    assert old.outcome == Outcome.FAILED
    assert old.error_message == f"Reconciled: the environment runs {production.build_sid}."
    assert not AuditEntry.objects.filter(action=Action.EXTERNAL).exists()


# --- notes -----------------------------------------------------------------------------------


def test_a_rollback_is_noted_while_its_build_is_live(upstream, manager):
    dev, production = env(upstream, "ivr-flows", "dev"), env(upstream, "ivr-flows", "production")
    target = earlier_build(upstream, production)
    entry = deployment_redeploy(
        actor=manager,
        service_sid=production.service_sid,
        environment_sid=production.sid,
        build_sid=target,
        reason="5xx on /voice/incoming",
    ).entry

    note = observe(environments=read(upstream, production))[production.sid]

    assert note.rolled_back is not None
    assert (note.rolled_back.actor, note.rolled_back.build_sid, note.rolled_back.reason) == (
        "rita",
        target,
        "5xx on /voice/incoming",
    )
    assert note.rolled_back.when == entry.completed_at
    assert (note.cleared, note.changed_outside) == (None, None)

    # The next promotion ends it.
    deployment_promote(
        actor=manager,
        service_sid=dev.service_sid,
        source_environment_sid=dev.sid,
        target_environment_sid=production.sid,
    )
    note = observe(environments=read(upstream, production))[production.sid]
    assert note == EnvironmentNote()


def test_a_clear_is_noted_with_what_restore_would_bring_back(upstream, manager):
    stage = env(upstream, "partner-portal", "stage")
    history_record(
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        deployments=history(upstream, stage),
    )
    entry = environment_clear(
        actor=manager,
        service_sid=stage.service_sid,
        environment_sid=stage.sid,
        confirmation="stage",
    ).entry

    note = observe(environments=read(upstream, stage))[stage.sid]

    assert note.cleared is not None
    assert (note.cleared.actor, note.cleared.previous_build_sid, note.cleared.when) == (
        "rita",
        stage.build_sid,
        entry.completed_at,
    )
    assert (note.rolled_back, note.changed_outside) == (None, None)
    # The history Twilio deleted is still ours to show, newest first.
    kept = durable_history(environment_sid=stage.sid)
    upstream_before = DeploymentRecord.objects.exclude(deployment_sid=entry.deployment_sid)
    assert [r.deployment_sid for r in kept] == [
        r.deployment_sid for r in upstream_before.order_by("-date_created", "-deployment_sid")
    ]
    assert entry.deployment_sid not in {r.deployment_sid for r in kept}

    deployment_restore(actor=manager, service_sid=stage.service_sid, environment_sid=stage.sid)
    assert observe(environments=read(upstream, stage))[stage.sid] == EnvironmentNote()
