"""Release labels: the names a team gives its builds (Twilio builds have none).

Stored by the dashboard, keyed by build SID, set from the build page or from CI with
`manage.py label`. Pages read them through one `LabelBook` per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deployments_app.models import BuildLabel
from deployments_app.roles import User
from deployments_app.services.deployments import user_can_deploy
from deployments_app.sids import is_sid

LABEL_MAX = BuildLabel._meta.get_field("label").max_length or 80
NOTE_MAX = BuildLabel._meta.get_field("note").max_length or 300


class LabelRefused(Exception):
    """The label cannot be set; the message says why, in the user's terms."""


@dataclass(frozen=True)
class Label:
    text: str
    note: str


def user_can_label(user: User) -> bool:
    # Naming a release is part of releasing it: whoever may deploy may label.
    return user_can_deploy(user)


def build_label_set(*, build_sid: str, text: str, note: str = "", actor: str) -> bool:
    """Give a build its label (empty text removes it). Idempotent; True if anything changed."""
    if not is_sid(build_sid, "build"):
        raise LabelRefused(f"{build_sid!r} is not a build SID (ZB followed by 32 hex digits).")
    text, note = " ".join(text.split()), " ".join(note.split())
    if len(text) > LABEL_MAX:
        raise LabelRefused(f"Label: at most {LABEL_MAX} characters (you gave {len(text)}).")
    if len(note) > NOTE_MAX:
        raise LabelRefused(f"Note: at most {NOTE_MAX} characters (you gave {len(note)}).")
    if note and not text:
        raise LabelRefused("Label: a note needs a label.")
    with transaction.atomic():
        current = BuildLabel.objects.select_for_update().filter(build_sid=build_sid).first()
        if not text:
            return bool(current and current.delete())
        if current and (current.label, current.note) == (text, note):
            return False
        BuildLabel.objects.update_or_create(
            build_sid=build_sid,
            defaults={
                "label": text,
                "note": note,
                "updated_by": actor,
                "updated_at": timezone.now(),
            },
        )
    return True


class LabelBook:
    """Every label, read once per request on first use (one query, however many links).

    A team labels a few builds a day, so the whole set stays small; reading it all beats
    collecting each page's build SIDs in every view.
    """

    def __init__(self) -> None:
        self._labels: dict[str, Label] | None = None

    def get(self, build_sid: str | None) -> Label | None:
        if not build_sid:
            return None
        if self._labels is None:
            rows = BuildLabel.objects.values_list("build_sid", "label", "note")
            self._labels = {sid: Label(text, note) for sid, text, note in rows}
        return self._labels.get(build_sid)
