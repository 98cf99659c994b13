"""The soak rule: an environment only takes builds that ran long enough, cleanly, on its
source (EnvironmentPolicy.soak_minutes).

One message for the button that is not offered yet and for the server's refusal, so the
overview, the dialog, the CLI and the approval path all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from deployments_app.models import EnvironmentPolicy
from deployments_app.services.deploy_health import count_errors
from deployments_app.services.history import live_since_and_previous
from deployments_app.services.serverless import ServerlessClient
from deployments_app.services.serverless_types import Environment

# Pages of logs read for a soak (each up to the health page size): enough to find one error.
MAX_PAGES = 5


@dataclass(frozen=True)
class SoakWait:
    """Why the source's build may not be promoted yet (or at all)."""

    message: str


def soak_wait(
    *,
    policy: EnvironmentPolicy | None,
    source_name: str,
    live_since: datetime | None,
    now: datetime | None = None,
) -> SoakWait | None:
    """The time part of the rule, from what a page already knows (no upstream call)."""
    if policy is None or not policy.soak_minutes:
        return None
    if live_since is None:
        return SoakWait(f"{source_name} soak: when its build went live is not known yet.")
    now = now or timezone.now()
    minutes = int((now - live_since).total_seconds() // 60)
    if minutes < policy.soak_minutes:
        return SoakWait(
            f"{source_name} soak: {max(minutes, 0)} of {policy.soak_minutes} minutes. "
            f"{policy.environment_name} only takes builds that ran {policy.soak_minutes} "
            f"minutes on {source_name} with no errors."
        )
    return None


def soak_refusal(
    *,
    client: ServerlessClient,
    policy: EnvironmentPolicy | None,
    service_sid: str,
    source: Environment,
    now: datetime | None = None,
) -> SoakWait | None:
    """The whole rule, for the server: the time, then no error-level log in the soak."""
    if policy is None or not policy.soak_minutes or not source.build_sid:
        return None
    name = source.unique_name or source.sid
    # The live deployment is the newest (or nearly): the first page tells when it began.
    page = client.deployment_page(service_sid=service_sid, environment_sid=source.sid)
    live, _ = live_since_and_previous(page.items, source.build_sid)
    live_since = live.date_created if live else None
    waiting = soak_wait(policy=policy, source_name=name, live_since=live_since, now=now)
    if waiting is not None or live_since is None:
        return waiting
    soak_end = live_since + timedelta(minutes=policy.soak_minutes)
    errors, more = count_errors(
        client,
        service_sid=service_sid,
        environment_sid=source.sid,
        start=live_since,
        end=soak_end,
        max_pages=MAX_PAGES,
    )
    if errors:
        counted = f"at least {errors}" if more else str(errors)
        return SoakWait(
            f"{name} soak failed: {counted} error-level log{'s' if errors != 1 else ''} in the "
            f"{policy.soak_minutes} minutes after its build went live. "
            f"{policy.environment_name} only takes builds that ran clean on {name}."
        )
    return None
