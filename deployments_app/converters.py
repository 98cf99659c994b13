"""URL converters that accept only well-formed Twilio SIDs, so a bad SID is a 404 at once."""

from __future__ import annotations


class _SidConverter:
    prefix = ""

    def __init_subclass__(cls) -> None:
        cls.regex = cls.prefix + "[0-9a-fA-F]{32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ServiceSidConverter(_SidConverter):
    prefix = "ZS"


class EnvironmentSidConverter(_SidConverter):
    prefix = "ZE"


class BuildSidConverter(_SidConverter):
    prefix = "ZB"
