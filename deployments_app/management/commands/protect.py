"""`manage.py protect SERVICE ENV [--approvals N] [--approver-group NAME] [--from ENV]
[--allow-self-approval]`: an environment's policy as a line in a script.

Declarative and idempotent: the options given are the policy, an option left out is its
default, and a second run with the same options changes nothing. The time zone, request
lifetime and freeze windows are left as an admin set them. A policy edit is not a
deployment action: it is logged, not audited.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.management.resolve import environment_in, one_line, service_named
from deployments_app.models import EnvironmentPolicy
from deployments_app.services import policies

logger = logging.getLogger(__name__)

MAX_APPROVALS = 10


def approvals_count(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_APPROVALS:
        raise argparse.ArgumentTypeError(f"give a number from 1 to {MAX_APPROVALS}, not {value!r}")
    return int(value)


class Command(BaseCommand):
    help = (
        "Protect ENV of SERVICE: promotions, rollbacks and clears there need approval. "
        "Options left out take their defaults; running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service SID or unique name")
        parser.add_argument("environment", help="Environment unique name (or SID)")
        parser.add_argument(
            "--approvals",
            type=approvals_count,
            default=1,
            metavar="N",
            help=f"Approvals a change needs, 1 to {MAX_APPROVALS} (default 1)",
        )
        parser.add_argument(
            "--approver-group",
            default="",
            metavar="NAME",
            help="Only approvers in this group decide (default: anyone with the Approver role)",
        )
        parser.add_argument(
            "--from",
            dest="promote_from",
            default="",
            metavar="ENV",
            help="Promotion order: only builds that ran on ENV may be promoted here",
        )
        parser.add_argument(
            "--allow-self-approval",
            action="store_true",
            help="The requester may approve their own request (default: someone else must)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        group = _group_named(options["approver_group"])
        service, listed = service_named(options["service"])
        target = environment_in(service, listed, options["environment"])
        name = target.unique_name or target.sid
        promote_from = ""
        if options["promote_from"]:
            source = environment_in(service, listed, options["promote_from"])
            if source.sid == target.sid:
                raise CommandError(f"{name} cannot take its promotions from itself.")
            promote_from = source.unique_name or source.sid
        wanted: dict[str, Any] = {
            "service_label": service.friendly_name or service.unique_name or "",
            "protected": True,
            "required_approvals": options["approvals"],
            "approver_group": group,
            "promote_from": promote_from,
            "allow_self_approval": options["allow_self_approval"],
        }
        existing = EnvironmentPolicy.objects.filter(
            service_sid=service.sid, environment_name=name
        ).first()
        if existing is not None and all(getattr(existing, f) == v for f, v in wanted.items()):
            policy, done = existing, "unchanged"
        else:
            policy, created = EnvironmentPolicy.objects.update_or_create(
                service_sid=service.sid, environment_name=name, defaults=wanted
            )
            done = "created" if created else "updated"
        described = _describe(policy)
        label = f"{service.unique_name or service.sid}/{name}"
        logger.info("Policy %s %s via cli: %s", label, done, described)
        self.stdout.write(self.style.SUCCESS(f"{label} protected ({done}): {described}."))
        if group is not None and not _anyone_can_approve(group, policy):
            self.stderr.write(
                self.style.WARNING(
                    f"No active member of {group.name} has the Approver role yet: only "
                    "administrators can approve here."
                )
            )


def _group_named(name: str) -> Group | None:
    if not name:
        return None
    group = Group.objects.filter(name=name).first()
    if group is None:
        known = ", ".join(Group.objects.order_by("name").values_list("name", flat=True)) or "none"
        raise CommandError(f"No group named {one_line(name)[:100]!r} (there are: {known}).")
    return group


def _describe(policy: EnvironmentPolicy) -> str:
    approvers = policy.approver_group.name if policy.approver_group else "the Approver role"
    parts = [f"{policy.approvals_label} from {approvers}"]
    if policy.promote_from:
        parts.append(f"promotion from {policy.promote_from}")
    parts.append("self-approval allowed" if policy.allow_self_approval else "no self-approval")
    return ", ".join(parts)


def _anyone_can_approve(group: Group, policy: EnvironmentPolicy) -> bool:
    members = group.user_set.filter(is_active=True, is_superuser=False)
    return any(policies.user_can_approve(member, policy) for member in members)
