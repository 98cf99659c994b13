"""Timestamps: stored as float epoch seconds, sent as Twilio's ISO 8601 form."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def render(epoch: float) -> str:
    # Whole seconds and a literal Z: the only form the twilio SDK parses.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse(value: str) -> float:
    """Parse an ISO 8601 date-time from a query string; naive means UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
