"""`manage.py label BUILD_SID TEXT [--note]`: CI names a release; every page shows it."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from deployments_app.models import BuildLabel

pytestmark = pytest.mark.django_db


def label(*args: str) -> str:
    out = io.StringIO()
    call_command("label", *args, stdout=out)
    return out.getvalue()


def test_labelling_from_ci_is_idempotent(upstream):
    build = upstream.store.builds(upstream.store.service("ivr-flows").sid)[0].sid
    assert "labelled" in label(build, "v1.8.2 · 3f2a91c", "--note", "retry SMS on 30007")
    assert "nothing changed" in label(build, "v1.8.2 · 3f2a91c", "--note", "retry SMS on 30007")
    row = BuildLabel.objects.get(build_sid=build)
    expected = ("v1.8.2 · 3f2a91c", "retry SMS on 30007", "cli")
    assert (row.label, row.note, row.updated_by) == expected
    assert "labelled" in label(build, "v1.8.3")  # a new text replaces the old, note included
    assert BuildLabel.objects.get(build_sid=build).note == ""
    assert "label removed" in label(build, "")
    assert not BuildLabel.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ZS" + "0" * 32, "v1"), "not a build SID"),
        (("ZB" + "0" * 32, "x" * 81), "Label: at most 80 characters (you gave 81)"),
        (("ZB" + "0" * 32, "v1", "--note", "n" * 301), "Note: at most 300 characters"),
    ],
)
def test_a_bad_label_is_refused_with_the_reason(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        label(*args)
    assert not BuildLabel.objects.exists()
