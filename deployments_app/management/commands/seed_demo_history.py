"""Give the demo a history of the dashboard's own: a promotion, a rollback, a clear, a request,
and release labels on its builds.

So that a first look shows what the dashboard adds to Twilio's console: "deployed by", a
rolled-back stage with its reason, a cleared environment that can be restored, and a
promotion to a protected production awaiting approval. Every step goes through the same
services as the buttons (as the demo release manager, via the CLI), so each is audited.
Demo mode only; idempotent (once the demo release manager has acted, it does nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from deployments_app.models import AuditEntry
from deployments_app.services import deployments
from deployments_app.services.history import live_since_and_previous
from deployments_app.services.labels import build_label_set
from deployments_app.services.serverless import ServerlessClient, get_client
from deployments_app.services.serverless_errors import ServerlessError
from deployments_app.services.serverless_types import Build, Environment

ACTOR = "release"  # seed_demo_users' release manager
ROLLBACK_REASON = "Delivery receipts stopped arriving after this build; back to the last good one."
REQUEST_REASON = "Weekly release: the reminder wording reviewed on stage."
# What CI would pass to `manage.py label --note`: a commit title per release.
RELEASE_NOTES = (
    "retry SMS on 30007",
    "menu timeout 8 s",
    "log call SIDs",
    "bump twilio to 5.3",
    "Spanish prompts",
    "fix DST in reminders",
    "quieter retries",
    "cache the partner list",
)


class Command(BaseCommand):
    help = "Seed the demo with the dashboard's own actions (promote, roll back, clear, request)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("The demo history is only seeded against the local emulator.")
        actor = get_user_model().objects.filter(username=ACTOR).first()
        if actor is None:
            raise CommandError(f"No user {ACTOR!r}: run `manage.py seed_demo_users` first.")
        client = get_client()
        try:
            services = {s.unique_name: s for s in client.service_list()}
            envs = {
                name: {e.unique_name: e for e in client.environment_list(service_sid=s.sid)}
                for name, s in services.items()
            }
            labelled = self.label_builds(client, [s.sid for s in services.values()])
        except ServerlessError as exc:
            raise CommandError(f"Could not read the emulator: {exc.user_message}") from None
        self.stdout.write(f"Labelled {labelled} builds (v1.N.0 · commit).")
        if AuditEntry.objects.filter(actor=ACTOR).exists():
            self.stdout.write("The demo history is there already.")
            return

        def sid(service: str) -> str:
            return services[service].sid

        def previous_build(env: Environment) -> str:
            history = client.deployment_iter(
                service_sid=env.service_sid or "", environment_sid=env.sid, page_size=1000
            )
            return live_since_and_previous(history, env.build_sid)[1] or ""

        steps: list[tuple[str, Callable[[], deployments.ActionOutcome]]] = [
            (
                "promoted ivr-flows dev to stage",
                lambda: deployments.deployment_promote(
                    actor=actor,
                    via="cli",
                    service_sid=sid("ivr-flows"),
                    source_environment_sid=envs["ivr-flows"]["dev"].sid,
                    target_environment_sid=envs["ivr-flows"]["stage"].sid,
                ),
            ),
            (
                "rolled sms-notifications stage back",
                lambda: deployments.deployment_redeploy(
                    actor=actor,
                    via="cli",
                    service_sid=sid("sms-notifications"),
                    environment_sid=envs["sms-notifications"]["stage"].sid,
                    build_sid=previous_build(envs["sms-notifications"]["stage"]),
                    reason=ROLLBACK_REASON,
                ),
            ),
            (
                "cleared partner-portal dev",
                lambda: deployments.environment_clear(
                    actor=actor,
                    via="cli",
                    service_sid=sid("partner-portal"),
                    environment_sid=envs["partner-portal"]["dev"].sid,
                    confirmation="dev",
                    reason="Retiring the old portal branch.",
                ),
            ),
            (
                "asked to promote appointment-reminders stage to production",
                lambda: deployments.deployment_promote(
                    actor=actor,
                    via="cli",
                    service_sid=sid("appointment-reminders"),
                    source_environment_sid=envs["appointment-reminders"]["stage"].sid,
                    target_environment_sid=envs["appointment-reminders"]["production"].sid,
                    reason=REQUEST_REASON,
                ),
            ),
        ]
        for label, step in steps:
            try:
                outcome = step()
            except (deployments.ActionError, KeyError) as exc:
                self.stderr.write(f"Could not have {label}: {exc}")
                continue
            said = "awaiting approval" if outcome.request else outcome.entry.outcome
            self.stdout.write(f"As {ACTOR}: {label} ({said}).")

    def label_builds(self, client: ServerlessClient, service_sids: list[str]) -> int:
        """Each service's builds, oldest first, as v1.0.0, v1.1.0…, as CI would (idempotent)."""
        changed = 0
        for service_sid in service_sids:
            builds = sorted(client.build_iter(service_sid=service_sid), key=_created)
            for n, build in enumerate(builds):
                text = f"v1.{n}.0 · {build.sid[-7:]}"
                note = RELEASE_NOTES[(n + len(service_sid)) % len(RELEASE_NOTES)]
                changed += build_label_set(build_sid=build.sid, text=text, note=note, actor="ci")
        return changed


def _created(build: Build) -> str:
    return build.date_created.isoformat() if build.date_created else ""
