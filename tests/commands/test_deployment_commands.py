"""promote, rollback and clear_environment: the dashboard's buttons from a shell.

They run against the emulator, through services/deployments.py like the buttons, so
permissions, policies and the audit trail apply; these tests check what the commands
add: names resolved to SIDs, one line of output, a one-line reason and exit code 1.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connections

from deployments_app.models import AuditEntry
from serverless_emulator import Fault

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    """The command's error message, checked to be one line with exit code 1."""
    with pytest.raises(CommandError) as caught:
        run(*args)
    message = str(caught.value)
    assert caught.value.returncode == 1
    assert "\n" not in message
    assert message
    return message


def deployment_posts(upstream) -> list:
    return [r for r in upstream.requests if r.method == "POST" and r.path.endswith("/Deployments")]


def only_entry() -> AuditEntry:
    (entry,) = AuditEntry.objects.all()
    return entry


# --- success ------------------------------------------------------------------------------


def test_promote_deploys_the_source_build_to_the_target_and_says_so(seed, rita):
    dev, stage = seed.env("ivr-flows", "dev"), seed.env("ivr-flows", "stage")
    assert dev.build_sid != stage.build_sid
    before = seed.state()

    output = run("promote", "ivr-flows", "dev", "stage", "--as", "rita")

    after = seed.state()
    assert after[stage.sid] == (dev.build_sid, before[stage.sid][1] + 1)
    assert {sid: s for sid, s in after.items() if sid != stage.sid} == {
        sid: s for sid, s in before.items() if sid != stage.sid
    }
    new_deployment = seed.store.deployments(stage.sid)[0]
    assert new_deployment.build_sid == dev.build_sid
    assert output.count("\n") == 1
    assert output.startswith(f"Promoted {dev.build_sid} in stage: deployment {new_deployment.sid}")

    entry = only_entry()
    assert (entry.via, entry.actor, entry.client_ip) == ("cli", "rita", None)
    assert entry.action == AuditEntry.Action.PROMOTE
    assert entry.outcome == AuditEntry.Outcome.SUCCEEDED
    assert entry.source_environment_sid == dev.sid
    assert entry.environment_sid == stage.sid
    assert entry.build_sid == dev.build_sid
    assert entry.previous_build_sid == stage.build_sid
    assert entry.deployment_sid == new_deployment.sid


def test_promote_accepts_sids_instead_of_names(seed, rita):
    service = seed.service("partner-portal")
    dev, stage = seed.env("partner-portal", "dev"), seed.env("partner-portal", "stage")
    run("promote", service.sid, dev.sid, stage.sid, "--as", "rita")
    assert seed.store.environment(stage.sid).build_sid == dev.build_sid
    assert only_entry().via == "cli"


def test_promoting_what_is_already_live_changes_nothing(seed, rita):
    stage = seed.env("ivr-flows", "stage")
    run("promote", "ivr-flows", "dev", "stage", "--as", "rita")
    before = seed.state()
    output = run("promote", "ivr-flows", "dev", "stage", "--as", "rita")
    assert seed.state() == before
    assert "already live in stage; nothing changed" in output
    assert AuditEntry.objects.filter(environment_sid=stage.sid).first().outcome == "noop"


def test_rollback_redeploys_an_earlier_build_with_the_reason(seed, rita):
    dev = seed.env("ivr-flows", "dev")
    earlier = next(
        d.build_sid
        for d in seed.store.deployments(dev.sid)
        if d.build_sid
        and d.build_sid != dev.build_sid
        and seed.store.build(d.build_sid).status == "completed"
    )
    before = seed.state()

    output = run(
        "rollback", "ivr-flows", "dev", earlier, "--as", "rita", "--reason", "Checkout broke"
    )

    after = seed.state()
    assert after[dev.sid] == (earlier, before[dev.sid][1] + 1)
    assert {k: v for k, v in after.items() if k != dev.sid} == {
        k: v for k, v in before.items() if k != dev.sid
    }
    assert output.startswith(f"Rolled back to {earlier} in dev: deployment ZD")
    assert output.count("\n") == 1
    entry = only_entry()
    assert (entry.via, entry.action, entry.outcome) == ("cli", "redeploy", "succeeded")
    assert entry.reason == "Checkout broke"
    assert entry.previous_build_sid == dev.build_sid
    assert entry.deployment_sid == seed.store.deployments(dev.sid)[0].sid


def test_clear_environment_with_the_typed_name_clears_it(seed, rita):
    stage = seed.env("sms-notifications", "stage")
    assert stage.build_sid
    before = seed.state()

    output = run(
        "clear_environment", "sms-notifications", "stage", "--as", "rita", "--confirm", "stage"
    )

    assert seed.store.environment(stage.sid).build_sid is None
    # A clear deletes the history upstream and leaves only the clearing deployment.
    assert seed.state()[stage.sid] == (None, 1)
    assert {k: v for k, v in seed.state().items() if k != stage.sid} == {
        k: v for k, v in before.items() if k != stage.sid
    }
    assert output.startswith("Cleared stage (deployment ZD")
    entry = only_entry()
    assert (entry.via, entry.action, entry.outcome) == ("cli", "clear", "succeeded")
    assert entry.previous_build_sid == stage.build_sid


# --- refusals: one line, exit code 1, nothing changed upstream ----------------------------


def test_an_unknown_user_is_refused_before_anything_is_asked_of_twilio(upstream, seed, rita):
    before = seed.state()
    message = refused("promote", "ivr-flows", "dev", "stage", "--as", "nobody")
    assert message == "No user named 'nobody'."
    assert seed.state() == before
    assert not upstream.requests
    assert not AuditEntry.objects.exists()


def test_an_inactive_user_is_refused(seed, rita):
    rita.is_active = False
    rita.save()
    assert refused("promote", "ivr-flows", "dev", "stage", "--as", "rita") == (
        "User 'rita' is inactive."
    )


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "ivr-flows", "dev", "stage"),
        ("rollback", "ivr-flows", "dev", "ZB" + "0" * 32),
        ("clear_environment", "ivr-flows", "stage", "--confirm", "stage"),
    ],
)
def test_a_user_without_the_role_is_refused_and_audited(upstream, seed, vera, args):
    before = seed.state()
    message = refused(*args, "--as", "vera")
    assert message == "Your role does not allow this action."
    assert seed.state() == before
    assert not deployment_posts(upstream)
    entry = only_entry()
    assert (entry.actor, entry.via, entry.outcome) == ("vera", "cli", "refused")


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ("no-such-service", "No service 'no-such-service'."),
        ("ZS" + "f" * 32, f"No service 'ZS{'f' * 32}'."),
        ("not a name!", "'not a name!' is not a service SID or unique name."),
    ],
)
def test_an_unknown_service_is_refused(seed, rita, service, message):
    before = seed.state()
    assert refused("promote", service, "dev", "stage", "--as", "rita") == message
    assert seed.state() == before
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "ivr-flows", "dev", "qa"),
        ("promote", "ivr-flows", "qa", "stage"),
        ("rollback", "ivr-flows", "qa", "ZB" + "0" * 32),
        ("clear_environment", "ivr-flows", "qa", "--confirm", "qa"),
    ],
)
def test_an_unknown_environment_is_refused_with_the_ones_there_are(seed, rita, args):
    before = seed.state()
    message = refused(*args, "--as", "rita")
    assert message == "Service ivr-flows has no environment 'qa' (it has: dev, stage, production)."
    assert seed.state() == before
    assert not AuditEntry.objects.exists()


def test_an_environment_of_another_service_is_unknown_here(seed, rita):
    other = seed.env("billing-webhooks", "stage")
    message = refused("promote", "ivr-flows", "dev", other.sid, "--as", "rita")
    assert message.startswith(f"Service ivr-flows has no environment '{other.sid}'")


def test_promoting_an_environment_onto_itself_is_refused(upstream, seed, rita):
    before = seed.state()
    message = refused("promote", "ivr-flows", "stage", "stage", "--as", "rita")
    assert message == "The target environment is the source environment."
    assert seed.state() == before
    assert not deployment_posts(upstream)
    assert only_entry().outcome == "refused"


@pytest.mark.parametrize("confirm", [None, "production", "Stage", "ivr-flows"])
def test_clear_without_the_environment_name_is_refused(upstream, seed, rita, confirm):
    before = seed.state()
    extra = () if confirm is None else ("--confirm", confirm)
    message = refused("clear_environment", "ivr-flows", "stage", "--as", "rita", *extra)
    assert message == "Type the environment's name, stage, to confirm the clear."
    assert seed.state() == before
    assert not deployment_posts(upstream)
    entry = only_entry()
    assert (entry.action, entry.outcome, entry.via) == ("clear", "refused", "cli")


@pytest.mark.parametrize("build", ["ZBnope", "latest", "ZS" + "1" * 32])
def test_rollback_to_a_malformed_build_sid_is_refused(upstream, seed, rita, build):
    before = seed.state()
    message = refused("rollback", "ivr-flows", "dev", build, "--as", "rita")
    assert message == f"{build!r} is not a valid build SID."
    assert seed.state() == before
    assert not deployment_posts(upstream)
    assert only_entry().outcome == "refused"


def test_rollback_to_a_build_that_is_still_building_is_refused(upstream, seed, rita):
    service = seed.service("ivr-flows")
    building = next(b for b in seed.store.builds(service.sid) if b.status == "building")
    before = seed.state()
    message = refused("rollback", "ivr-flows", "dev", building.sid, "--as", "rita")
    assert message == (
        f"Build {building.sid} is building, not completed; only completed builds can be deployed."
    )
    assert seed.state() == before
    assert not deployment_posts(upstream)
    entry = only_entry()
    assert (entry.outcome, entry.via, entry.build_sid) == ("refused", "cli", building.sid)


def test_a_twilio_failure_is_reported_in_one_line_and_audited(upstream, seed, rita):
    upstream.faults.add(Fault(method="POST", path=r"/Deployments$", status=500, count=None))
    before = seed.state()
    message = refused("promote", "ivr-flows", "dev", "stage", "--as", "rita")
    dev, stage = seed.env("ivr-flows", "dev"), seed.env("ivr-flows", "stage")
    assert message == (
        "Twilio did not confirm the deployment, and the environment still runs "
        f"{stage.build_sid}. Nothing changed; you can try again."
    )
    assert dev.build_sid != stage.build_sid
    assert seed.state() == before
    entry = only_entry()
    assert (entry.outcome, entry.via) == ("failed", "cli")
    assert entry.error_message


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "ivr-flows", "dev", "stage"),
        ("rollback", "ivr-flows", "dev", "ZB" + "0" * 32),
        ("clear_environment", "ivr-flows", "stage"),
    ],
)
def test_every_command_requires_a_user(seed, args):
    with pytest.raises(CommandError, match="--as"):
        run(*args)


# --- as a shell runs it -------------------------------------------------------------------


def test_from_the_command_line_a_refusal_is_exit_code_1_and_one_line_without_traceback(
    seed, rita, capsys, monkeypatch
):
    # run_from_argv closes every connection when done; the test's transaction needs its own.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("deployments_app", "promote")
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "promote", "ivr-flows", "dev", "qa", "--as", "rita"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "CommandError: Service ivr-flows has no environment 'qa' "
        "(it has: dev, stage, production).\n"
    )
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_from_the_command_line_success_is_one_line(seed, rita, capsys, monkeypatch):
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("deployments_app", "clear_environment")
    command.run_from_argv(
        ["manage.py", "clear_environment", "ivr-flows", "dev", "--as", "rita", "--confirm", "dev"]
    )
    captured = capsys.readouterr()
    assert captured.out.startswith("Cleared dev (deployment ZD")
    assert captured.out.count("\n") == 1
    assert captured.err == ""


def test_promote_back_to_an_older_build_needs_its_reason(seed, rita):
    """After stage is rolled back, promoting it moves production back: --reason says why."""
    stage, production = (
        seed.env("sms-notifications", "stage"),
        seed.env("sms-notifications", "production"),
    )
    newer = seed.store.build(production.build_sid)
    older = next(
        b
        for b in seed.store.builds(stage.service_sid)
        if b.status == "completed" and b.date_created < newer.date_created
    )
    seed.store.deploy(stage.sid, older.sid)

    message = refused("promote", "sms-notifications", "stage", "production", "--as", "rita")
    assert message.startswith("Reason: required, because this moves production back")
    assert seed.env("sms-notifications", "production").build_sid == newer.sid

    output = run(
        "promote",
        "sms-notifications",
        "stage",
        "production",
        "--as",
        "rita",
        "--reason",
        "the 5xx are in production too",
    )
    assert output.startswith(f"Promoted {older.sid} in production")
    assert seed.env("sms-notifications", "production").build_sid == older.sid
    refusal, success = AuditEntry.objects.order_by("id")
    assert (refusal.outcome, refusal.via, refusal.reason) == ("refused", "cli", "")
    assert (success.outcome, success.via) == ("succeeded", "cli")
    assert success.reason == "the 5xx are in production too"
