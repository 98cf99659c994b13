"""SID prefixes and patterns, all taken from the spec's `pattern` fields."""

from __future__ import annotations

import re
import secrets

# Functions and Assets share ZH; their versions share ZN (as in the spec).
SERVICE = "ZS"
ENVIRONMENT = "ZE"
BUILD = "ZB"
DEPLOYMENT = "ZD"
FUNCTION = "ZH"
FUNCTION_VERSION = "ZN"
ASSET = "ZH"
ASSET_VERSION = "ZN"
VARIABLE = "ZV"
LOG = "NO"
REQUEST = "RQ"
ACCOUNT = "AC"
API_KEY = "SK"

_HEX32 = r"[0-9a-fA-F]{32}"


def is_sid(value: str, prefix: str) -> bool:
    return re.fullmatch(prefix + _HEX32, value) is not None


def random_sid(prefix: str) -> str:
    # Runtime SIDs come from the OS, never from the seed RNG, so a restarted
    # emulator (same rng_seed, state loaded from disk) cannot collide with them.
    return prefix + secrets.token_hex(16)
