"""Two environments' variables compared by key, without ever keeping a value: pure, no I/O.

A promotion copies the build, never the variables, so a key missing on the target or a
value that differs there is what breaks a promoted build. Variables often hold secrets:
values are compared through a keyed fingerprint (HMAC-SHA256 under a key derived from
SECRET_KEY by `salted_hmac`) computed here and dropped at once. The result holds keys
and what was found about them, nothing from which a value could be told or guessed:
no values, no fingerprints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.utils.crypto import constant_time_compare, salted_hmac

from deployments_app.services.serverless_types import Variable

__all__ = ["Drift", "KeyDrift", "VariablesDrift", "variables_drift"]

# Names the purpose of the derived key: a fingerprint made here means nothing elsewhere.
_KEY_SALT = "deployments_app.services.variables_drift"


class Drift(StrEnum):
    EQUAL = "equal"
    DIFFERS = "differs"
    MISSING_IN_SOURCE = "missing_in_source"
    MISSING_IN_TARGET = "missing_in_target"


@dataclass(frozen=True)
class KeyDrift:
    key: str
    drift: Drift


@dataclass(frozen=True)
class VariablesDrift:
    """Keys only, each sorted: what the target lacks, has extra, holds differently or the same."""

    missing_in_target: tuple[str, ...] = ()
    missing_in_source: tuple[str, ...] = ()
    differing: tuple[str, ...] = ()
    equal: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """No drift: the same keys with the same values on both sides."""
        return not (self.missing_in_target or self.missing_in_source or self.differing)

    @property
    def drift_count(self) -> int:
        return len(self.missing_in_target) + len(self.missing_in_source) + len(self.differing)

    @property
    def rows(self) -> tuple[KeyDrift, ...]:
        """Every key once, sorted by key, with what was found about it."""
        rows = [KeyDrift(k, Drift.MISSING_IN_TARGET) for k in self.missing_in_target]
        rows += [KeyDrift(k, Drift.MISSING_IN_SOURCE) for k in self.missing_in_source]
        rows += [KeyDrift(k, Drift.DIFFERS) for k in self.differing]
        rows += [KeyDrift(k, Drift.EQUAL) for k in self.equal]
        return tuple(sorted(rows, key=lambda row: row.key))


def _fingerprints(variables: Iterable[Variable]) -> dict[str, str]:
    # The key is in the message too: equal values under two keys give two fingerprints,
    # so nothing here tells that one secret is reused under another name.
    return {
        v.key: salted_hmac(_KEY_SALT, f"{v.key}\0{v.value or ''}", algorithm="sha256").hexdigest()
        for v in variables
        if v.key is not None
    }


def variables_drift(*, source: list[Variable], target: list[Variable]) -> VariablesDrift:
    """Compare `source`'s variables (where the build comes from) with `target`'s, by key."""
    theirs, ours = _fingerprints(source), _fingerprints(target)
    shared = sorted(theirs.keys() & ours.keys())
    differing = tuple(k for k in shared if not constant_time_compare(theirs[k], ours[k]))
    return VariablesDrift(
        missing_in_target=tuple(sorted(theirs.keys() - ours.keys())),
        missing_in_source=tuple(sorted(ours.keys() - theirs.keys())),
        differing=differing,
        equal=tuple(k for k in shared if k not in differing),
    )
