"""Typed failures of the Twilio Serverless client.

Every failure the client can meet becomes one of these. Each carries what Twilio sent
(`status`, `code`, `message`, `more_info`) where it sent it, how many attempts were made,
and a `user_message` a person can act on. None of them ever holds a credential: the
client raises them outside the `except` block of the transport error (no chained
`requests` exception whose frames hold the Authorization header), and describes the
cause in `detail` instead.

    ServerlessError
    ├── AuthenticationFailed          401, or no credentials configured
    ├── PermissionDenied              403
    ├── NotFound                      404
    ├── InvalidRequest                400, 409 (other than 20409), other 4xx, malformed SID
    │   └── AlreadyDeployed           409 with code 20409 (deployment_create turns it into a result)
    ├── RateLimited                   429 (retry_after in seconds when Twilio said)
    └── UpstreamUnavailable           5xx, timeout, connection error, non-JSON or odd body
        ├── DeploymentNotApplied      ambiguous POST; the re-read shows it did not take effect
        └── DeploymentOutcomeUnknown  ambiguous POST; the re-read failed too
"""

from __future__ import annotations

from typing import ClassVar, TypedDict, Unpack

__all__ = [
    "AlreadyDeployed",
    "AuthenticationFailed",
    "DeploymentNotApplied",
    "DeploymentOutcomeUnknown",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerlessError",
    "UpstreamUnavailable",
]


class ErrorFields(TypedDict, total=False):
    """The keyword arguments every ServerlessError accepts besides its message."""

    status: int | None
    code: int | None
    more_info: str | None
    method: str | None
    path: str | None
    attempts: int
    detail: str | None


class ServerlessError(Exception):
    """Base of every failure talking to Twilio Serverless."""

    default_user_message: ClassVar[str] = "Twilio could not complete the request."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        more_info: str | None = None,
        method: str | None = None,
        path: str | None = None,
        attempts: int = 0,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.more_info = more_info
        self.method = method
        self.path = path
        # How many HTTP requests were sent for this call (0: refused before sending).
        self.attempts = attempts
        # A short, credential-free description of the transport cause, for logs.
        self.detail = detail

    @property
    def user_message(self) -> str:
        """A sentence for the person looking at the dashboard."""
        return self.default_user_message

    def __str__(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"Twilio code {self.code}")
        head = ", ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.detail:
            text = f"{text} ({self.detail})"
        if self.attempts > 1:
            text = f"{text} [after {self.attempts} attempts]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, attempts={self.attempts!r})"
        )


class AuthenticationFailed(ServerlessError):
    default_user_message = (
        "Twilio rejected the dashboard's credentials. Check TWILIO_ACCOUNT_SID and "
        "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)."
    )


class PermissionDenied(ServerlessError):
    default_user_message = (
        "The dashboard's Twilio credentials are not allowed to do this. "
        "Use credentials with access to Twilio Serverless."
    )


class NotFound(ServerlessError):
    default_user_message = "Twilio has no such resource. It may have been deleted; reload the page."


class InvalidRequest(ServerlessError):
    @property
    def user_message(self) -> str:
        return f"Twilio refused the request: {self.message}"


class AlreadyDeployed(InvalidRequest):
    """Twilio's 409 with code 20409: the build is already live in the environment."""

    default_user_message = "That build is already live in this environment."

    @property
    def user_message(self) -> str:
        return self.default_user_message


class RateLimited(ServerlessError):
    def __init__(
        self, message: str, *, retry_after: float | None = None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(message, **fields)
        # Seconds Twilio asked us to wait (from Retry-After), when it said.
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        if self.retry_after:
            return (
                "Twilio is limiting requests from this account; "
                f"try again in {max(1, round(self.retry_after))} s."
            )
        return "Twilio is limiting requests from this account; try again in a moment."


class UpstreamUnavailable(ServerlessError):
    default_user_message = (
        "Twilio did not answer properly (it may be slow or down). Try again in a moment."
    )


class DeploymentNotApplied(UpstreamUnavailable):
    """The deployment POST failed ambiguously, and the environment shows it did not apply.

    Nothing changed upstream (as of the re-read), so trying again is safe.
    """

    took_effect: ClassVar[bool] = False

    def __init__(
        self, message: str, *, live_build_sid: str | None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(message, **fields)
        self.live_build_sid = live_build_sid

    @property
    def user_message(self) -> str:
        live = self.live_build_sid or "nothing"
        return (
            "Twilio did not confirm the deployment, and the environment still runs "
            f"{live}. Nothing changed; you can try again."
        )


class DeploymentOutcomeUnknown(UpstreamUnavailable):
    """The deployment POST failed ambiguously and re-reading the environment failed too."""

    took_effect: ClassVar[bool | None] = None

    @property
    def user_message(self) -> str:
        return (
            "Twilio did not answer, and the dashboard could not check whether the "
            "deployment took effect. Reload the environment before trying again."
        )
