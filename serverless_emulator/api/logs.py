"""/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Logs[/{Sid}]."""

from __future__ import annotations

from .. import dates, sids, wire
from ..errors import InvalidParameter
from .context import ApiRequest, ApiResponse, listing

ONE_DAY = 24 * 3600.0


def list_logs(request: ApiRequest) -> ApiResponse:
    function_sid = request.query_value("FunctionSid")
    if function_sid is not None and not sids.is_sid(function_sid, sids.FUNCTION):
        raise InvalidParameter(
            f"Invalid FunctionSid: '{function_sid}' is not a {sids.FUNCTION} SID"
        )
    now = request.store.clock()
    # Defaults from the spec: StartDate one day ago, EndDate now.
    start = _date(request, "StartDate", now - ONE_DAY)
    end = _date(request, "EndDate", now)
    filters = [
        (name, value)
        for name in ("StartDate", "EndDate", "FunctionSid")
        if (value := request.query_value(name)) is not None
    ]
    return listing(
        request,
        list_key="logs",
        parent_sid=request.params["EnvironmentSid"],
        items=request.store.logs(
            request.params["EnvironmentSid"],
            service=request.params["ServiceSid"],
            function_sid=function_sid,
            start=start,
            end=end,
        ),
        renderer=wire.log,
        newest_first=True,
        filters=filters,
    )


def _date(request: ApiRequest, name: str, default: float) -> float:
    raw = request.query_value(name)
    if raw is None:
        return default
    try:
        return dates.parse(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be an ISO 8601 date-time, got '{raw}'") from None


def fetch_log(request: ApiRequest) -> ApiResponse:
    log = request.store.log(
        request.params["Sid"],
        environment_sid=request.params["EnvironmentSid"],
        service=request.params["ServiceSid"],
    )
    return ApiResponse(200, request.render(wire.log, log))
