"""Twilio Serverless v1 resources: routes and handlers."""

from __future__ import annotations

from .routes import ROUTES, dispatch

__all__ = ["ROUTES", "dispatch"]
