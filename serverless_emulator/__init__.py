"""A local emulator of Twilio's Serverless REST API v1.

Standard library only, and nothing from the Django project: the dashboard,
its tests and `make run` all talk to it over real HTTP.
"""

from __future__ import annotations

from .emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator
from .faults import Fault, FaultInjector
from .recording import RecordedRequest, RequestLog
from .store import Store

__all__ = [
    "DEMO_ACCOUNT_SID",
    "DEMO_AUTH_TOKEN",
    "Emulator",
    "Fault",
    "FaultInjector",
    "RecordedRequest",
    "RequestLog",
    "Store",
]
