"""Twilio-style API errors: raised anywhere, rendered once by the server."""

from __future__ import annotations

from typing import Any

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class ApiError(Exception):
    status = 400
    code = 20001

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


class InvalidParameter(ApiError):
    status = 400
    code = 20001


class NotFound(ApiError):
    status = 404
    code = 20404


class Conflict(ApiError):
    status = 409
    code = 20409


class Unauthorized(ApiError):
    status = 401
    code = 20003


class MethodNotAllowed(ApiError):
    status = 405
    code = 20004


class TooManyRequests(ApiError):
    status = 429
    code = 20429


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }


def not_found(path: str) -> NotFound:
    return NotFound(f"The requested resource {path} was not found")
