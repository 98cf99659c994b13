"""Configuration of the Serverless client, and the SID shapes of the spec.

No HTTP here: serverless.py is the only module that imports requests.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["MAX_PAGE_SIZE", "PROJECT_NAME", "SID_PATTERNS", "ClientConfig", "is_sid"]

PROJECT_NAME = "twilio-serverless-release-dashboard"
MAX_PAGE_SIZE = 1000  # PageSize maximum in the spec

# SID patterns of the spec (components/schemas/*/properties/sid).
SID_PATTERNS = {
    "service": re.compile(r"^ZS[0-9a-fA-F]{32}$"),
    "environment": re.compile(r"^ZE[0-9a-fA-F]{32}$"),
    "build": re.compile(r"^ZB[0-9a-fA-F]{32}$"),
    "deployment": re.compile(r"^ZD[0-9a-fA-F]{32}$"),
    # Functions and Assets share the ZH prefix; their versions share ZN.
    "function": re.compile(r"^ZH[0-9a-fA-F]{32}$"),
    "asset": re.compile(r"^ZH[0-9a-fA-F]{32}$"),
    "version": re.compile(r"^ZN[0-9a-fA-F]{32}$"),
    "log": re.compile(r"^NO[0-9a-fA-F]{32}$"),
}
# A Service may be addressed by its unique name instead of its SID (spec: UniqueName).
UNIQUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def is_sid(value: object, kind: str) -> bool:
    """Whether `value` is a well-formed SID of `kind` (a key of SID_PATTERNS)."""
    return isinstance(value, str) and bool(SID_PATTERNS[kind].match(value))


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs; `from_settings()` reads it from Django settings."""

    base_url: str = "https://serverless.twilio.com"
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    max_concurrency: int = 10
    max_attempts: int = 4
    retry_budget_seconds: float = 8.0
    retry_after_cap_seconds: float = 5.0
    page_size_default: int = 50
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 2.0
    # How long to keep re-reading after a deployment POST timed out (see deployment_create).
    settle_seconds: float = 2.0
    version: str = "0.1.0"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("base_url must not carry credentials, a query or a fragment")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_concurrency < 1 or self.max_attempts < 1:
            raise ValueError("max_concurrency and max_attempts must be at least 1")
        if not 1 <= self.page_size_default <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size_default must be within 1..{MAX_PAGE_SIZE}")

    @classmethod
    def from_settings(cls) -> ClientConfig:
        from django.conf import settings

        defaults = cls()

        def number(name: str, default: float) -> float:
            value = getattr(settings, name, None)
            return default if value in (None, "") else float(value)

        return cls(
            base_url=str(getattr(settings, "TWILIO_SERVERLESS_BASE_URL", "") or defaults.base_url)
            .strip()
            .rstrip("/"),
            account_sid=getattr(settings, "TWILIO_ACCOUNT_SID", "") or "",
            auth_token=getattr(settings, "TWILIO_AUTH_TOKEN", "") or "",
            api_key=getattr(settings, "TWILIO_API_KEY", "") or "",
            api_secret=getattr(settings, "TWILIO_API_SECRET", "") or "",
            connect_timeout=number("TWILIO_CONNECT_TIMEOUT", defaults.connect_timeout),
            read_timeout=number("TWILIO_READ_TIMEOUT", defaults.read_timeout),
            max_concurrency=int(number("TWILIO_MAX_CONCURRENCY", defaults.max_concurrency)),
            max_attempts=int(number("TWILIO_MAX_ATTEMPTS", defaults.max_attempts)),
            retry_budget_seconds=number(
                "TWILIO_RETRY_BUDGET_SECONDS", defaults.retry_budget_seconds
            ),
            retry_after_cap_seconds=number(
                "TWILIO_RETRY_AFTER_CAP_SECONDS", defaults.retry_after_cap_seconds
            ),
            page_size_default=int(number("TWILIO_PAGE_SIZE_DEFAULT", defaults.page_size_default)),
            version=str(getattr(settings, "VERSION", "") or defaults.version),
        )

    @property
    def user_agent(self) -> str:
        """The project and its version (the client appends the HTTP library's)."""
        return f"{PROJECT_NAME}/{self.version}"

    def auth_pair(self) -> tuple[str, str] | None:
        """(user, secret) for HTTP Basic auth, or None when no credentials are set."""
        # An API key (SK…) and its secret take precedence over the account's auth token.
        if self.api_key and self.api_secret:
            return self.api_key, self.api_secret
        if self.account_sid and self.auth_token:
            return self.account_sid, self.auth_token
        return None

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be shown: the secrets and their Basic-auth encodings."""
        found: list[str] = [s for s in (self.auth_token, self.api_secret) if s]
        for user, secret in ((self.account_sid, self.auth_token), (self.api_key, self.api_secret)):
            if secret:
                found.append(base64.b64encode(f"{user}:{secret}".encode()).decode("ascii"))
        return tuple(found)
