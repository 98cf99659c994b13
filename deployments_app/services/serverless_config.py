"""Configuration of the Serverless client.

No HTTP here: serverless.py is the only module that imports requests. The values come
from Django settings (dashboard/settings.py reads and checks the environment, once);
the defaults below serve clients built directly, in tests and scripts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["MAX_PAGE_SIZE", "PROJECT_NAME", "ClientConfig"]

PROJECT_NAME = "twilio-serverless-release-dashboard"
MAX_PAGE_SIZE = 1000  # PageSize maximum in the spec


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs; `from_settings()` takes it from Django settings."""

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
    # Backoff between retries of a read (urllib3's: base * 2**(n-1), at most max).
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
        """The settings as dashboard/settings.py parsed them; no defaults of its own."""
        from django.conf import settings

        return cls(
            base_url=settings.TWILIO_SERVERLESS_BASE_URL,
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            api_key=settings.TWILIO_API_KEY,
            api_secret=settings.TWILIO_API_SECRET,
            connect_timeout=settings.TWILIO_CONNECT_TIMEOUT,
            read_timeout=settings.TWILIO_READ_TIMEOUT,
            max_concurrency=settings.TWILIO_MAX_CONCURRENCY,
            max_attempts=settings.TWILIO_MAX_ATTEMPTS,
            retry_budget_seconds=settings.TWILIO_RETRY_BUDGET_SECONDS,
            retry_after_cap_seconds=settings.TWILIO_RETRY_AFTER_CAP_SECONDS,
            page_size_default=settings.TWILIO_PAGE_SIZE_DEFAULT,
            version=settings.VERSION,
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
