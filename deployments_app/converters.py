"""URL converters that accept only well-formed Twilio SIDs, so a bad SID is a 404 at once."""

from __future__ import annotations

from deployments_app.sids import sid_regex


class _SidConverter:
    kind = ""
    regex: str

    def __init_subclass__(cls) -> None:
        cls.regex = sid_regex(cls.kind)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ServiceSidConverter(_SidConverter):
    kind = "service"


class EnvironmentSidConverter(_SidConverter):
    kind = "environment"


class BuildSidConverter(_SidConverter):
    kind = "build"
