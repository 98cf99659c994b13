"""Twilio SID shapes: the one validator that URL converters, forms, models and the client use.

Pure Python (no Django, no HTTP), so every layer can import it.
"""

from __future__ import annotations

import re

__all__ = ["SID_PATTERNS", "SID_PREFIXES", "UNIQUE_NAME", "is_service_ref", "is_sid", "sid_regex"]

# The prefix of each kind of SID in the spec (components/schemas/*/properties/sid).
# Functions and Assets share ZH; their versions share ZN.
SID_PREFIXES = {
    "service": "ZS",
    "environment": "ZE",
    "build": "ZB",
    "deployment": "ZD",
    "function": "ZH",
    "asset": "ZH",
    "version": "ZN",
    "log": "NO",
}


def sid_regex(kind: str) -> str:
    """The SID pattern of `kind`, unanchored (for URL converters)."""
    return SID_PREFIXES[kind] + "[0-9a-fA-F]{32}"


SID_PATTERNS = {kind: re.compile(f"^{sid_regex(kind)}$") for kind in SID_PREFIXES}
# A Service may be addressed by its unique name instead of its SID (spec: UniqueName).
UNIQUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def is_sid(value: object, kind: str) -> bool:
    """Whether `value` is a well-formed SID of `kind` (a key of SID_PREFIXES)."""
    return isinstance(value, str) and bool(SID_PATTERNS[kind].match(value))


def is_service_ref(value: object) -> bool:
    """A Service SID or unique name: what the API takes in a Service's path segment."""
    return isinstance(value, str) and (is_sid(value, "service") or bool(UNIQUE_NAME.match(value)))
