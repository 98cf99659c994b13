"""`manage.py label BUILD_SID TEXT [--note TEXT]`: name a release from CI. Idempotent.

An empty TEXT removes the label. Exits 0 when set (or already so), 1 when refused.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments_app.services.labels import LabelRefused, build_label_set


class Command(BaseCommand):
    help = (
        "Give a build the name the team uses for it (e.g. 'v1.8.2 · 3f2a91c'), shown beside "
        "its SID on every page, dialog and audit entry. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("build_sid", help="The build (ZB…)")
        parser.add_argument("text", help="The label; an empty string removes it")
        parser.add_argument("--note", default="", help="An optional line, e.g. the commit title")
        parser.add_argument("--as", dest="actor", default="cli", help="Who labels it (audit)")

    def handle(self, *args: Any, **options: Any) -> None:
        sid, text = options["build_sid"], options["text"]
        try:
            changed = build_label_set(
                build_sid=sid, text=text, note=options["note"], actor=options["actor"]
            )
        except LabelRefused as refusal:
            raise CommandError(str(refusal)) from None
        if not text.strip():
            state = "label removed" if changed else "had no label"
        else:
            state = "labelled" if changed else "already labelled so (nothing changed)"
        self.stdout.write(f"{sid}: {state}")
