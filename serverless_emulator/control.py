"""Control endpoints under /_emulator/, for demos (`make run`) and scripts.

No auth: the emulator binds only where told (127.0.0.1 by default).

    GET    /_emulator/health
    GET    /_emulator/faults       the active faults and knobs
    POST   /_emulator/faults       JSON: Fault fields, and/or latency_ms, error_rate, error_status
    DELETE /_emulator/faults       clear all
    GET    /_emulator/requests     the recorded v1 requests (Authorization redacted)
    DELETE /_emulator/requests
    POST   /_emulator/reset        JSON {"seed": "demo" | "empty" | null}
    POST   /_emulator/logs         JSON {"environment_sid", "level", "message", "count"?,
                                   "function_sid"?, "date_created"? (ISO 8601, default now),
                                   "spacing_seconds"?}: append logs to an environment, as
                                   its live deployment printed them
    GET    /_emulator/traffic      the builds' traffic profiles
    POST   /_emulator/builds/{BuildSid}/traffic   JSON {"error_rate": 0..1,
                                   "every_seconds"?}: wherever the build is deployed, from
                                   now on, its environment logs one invocation every
                                   `every_seconds` (default 60), that share of them errors
    DELETE /_emulator/builds/{BuildSid}/traffic   stop it
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from . import dates, sids
from .errors import ApiError
from .faults import Fault, FaultInjector
from .reply import Reply
from .store.logs import LEVELS

if TYPE_CHECKING:
    from .server import ServerState

KNOBS = ("latency_ms", "error_rate", "error_status")
FAULT_FIELDS = {f.name for f in fields(Fault)} - {"hits"}
LOG_FIELDS = {"environment_sid", "level", "message", "count", "function_sid", "date_created"}
LOG_FIELDS |= {"spacing_seconds"}
MAX_LOGS_PER_CALL = 1000
_TRAFFIC_PATH = re.compile(r"/_emulator/builds/(?P<sid>ZB[0-9a-fA-F]{32})/traffic")


def handle(state: ServerState, method: str, path: str, body: bytes) -> Reply:
    route = (method, path.rstrip("/"))
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return Reply.json(400, {"error": "body must be JSON"})
    if not isinstance(payload, dict):
        return Reply.json(400, {"error": "body must be a JSON object"})
    match route:
        case ("GET", "/_emulator/health"):
            return Reply.json(200, {"status": "ok", "counts": state.store.counts()})
        case ("GET", "/_emulator/faults"):
            return Reply.json(200, _faults_json(state.faults))
        case ("POST", "/_emulator/faults"):
            return _add_fault(state.faults, payload)
        case ("DELETE", "/_emulator/faults"):
            state.faults.clear()
            return Reply(204, content_type=None)
        case ("GET", "/_emulator/requests"):
            return Reply.json(200, {"requests": [r.to_json() for r in state.requests]})
        case ("DELETE", "/_emulator/requests"):
            state.requests.clear()
            return Reply(204, content_type=None)
        case ("POST", "/_emulator/reset"):
            try:
                state.reset(payload.get("seed", "demo"))
            except ValueError as error:
                return Reply.json(400, {"error": str(error)})
            return Reply.json(200, {"status": "reset", "counts": state.store.counts()})
        case ("POST", "/_emulator/logs"):
            return _add_logs(state, payload)
        case ("GET", "/_emulator/traffic"):
            profiles = state.store.traffic_profiles()
            return Reply.json(200, {"traffic": {sid: asdict(p) for sid, p in profiles.items()}})
    traffic = _TRAFFIC_PATH.fullmatch(route[1])
    if traffic is not None and method in ("POST", "DELETE"):
        return _set_traffic(state, method, traffic["sid"], payload)
    return Reply.json(404, {"error": f"no control endpoint {method} {path}"})


def _add_fault(faults: FaultInjector, payload: dict[str, Any]) -> Reply:
    unknown = set(payload) - FAULT_FIELDS - set(KNOBS)
    if unknown:
        return Reply.json(400, {"error": f"unknown fields: {', '.join(sorted(unknown))}"})
    try:
        if "latency_ms" in payload:
            faults.latency_ms = int(payload["latency_ms"])
        if "error_rate" in payload:
            faults.error_rate = float(payload["error_rate"])
        if "error_status" in payload:
            faults.error_status = int(payload["error_status"])
        spec = {k: v for k, v in payload.items() if k in FAULT_FIELDS}
        if spec:
            faults.add(Fault(**spec))
    except (TypeError, ValueError) as error:
        return Reply.json(400, {"error": str(error)})
    return Reply.json(201, _faults_json(faults))


def _faults_json(faults: FaultInjector) -> dict[str, Any]:
    return {
        "faults": [f.to_json() for f in faults.faults],
        "latency_ms": faults.latency_ms,
        "error_rate": faults.error_rate,
        "error_status": faults.error_status,
    }


def _add_logs(state: ServerState, payload: dict[str, Any]) -> Reply:
    unknown = set(payload) - LOG_FIELDS
    if unknown:
        return Reply.json(400, {"error": f"unknown fields: {', '.join(sorted(unknown))}"})
    environment_sid = payload.get("environment_sid")
    level = payload.get("level")
    message = payload.get("message")
    function_sid = payload.get("function_sid")
    count = payload.get("count", 1)
    spacing = payload.get("spacing_seconds", 0)
    if not isinstance(environment_sid, str) or not sids.is_sid(environment_sid, sids.ENVIRONMENT):
        return Reply.json(400, {"error": "environment_sid must be an environment SID"})
    if level not in LEVELS:
        return Reply.json(400, {"error": f"level must be one of {', '.join(LEVELS)}"})
    if not isinstance(message, str) or not message:
        return Reply.json(400, {"error": "message must be a non-empty string"})
    if function_sid is not None and (
        not isinstance(function_sid, str) or not sids.is_sid(function_sid, sids.FUNCTION)
    ):
        return Reply.json(400, {"error": "function_sid must be a function SID"})
    if type(count) is not int or not 1 <= count <= MAX_LOGS_PER_CALL:
        return Reply.json(400, {"error": f"count must be an integer in 1..{MAX_LOGS_PER_CALL}"})
    if type(spacing) not in (int, float) or not math.isfinite(spacing) or spacing < 0:
        return Reply.json(400, {"error": "spacing_seconds must be a number, 0 or more"})
    try:
        first = (
            dates.parse(payload["date_created"])
            if payload.get("date_created") is not None
            else state.store.clock()
        )
    except (TypeError, ValueError, AttributeError):
        return Reply.json(400, {"error": "date_created must be an ISO 8601 date-time"})
    try:
        with state.store.batch():
            made = [
                state.store.add_log(
                    environment_sid,
                    level=level,
                    message=message,
                    function_sid=function_sid,
                    date_created=float(int(first + n * spacing)),
                )
                for n in range(count)
            ]
    except ApiError as error:
        return Reply.json(error.status, {"error": error.message})
    return Reply.json(201, {"logs": [log.sid for log in made]})


def _set_traffic(state: ServerState, method: str, build_sid: str, payload: dict[str, Any]) -> Reply:
    if method == "DELETE":
        state.store.clear_build_traffic(build_sid)
        return Reply(204, content_type=None)
    unknown = set(payload) - {"error_rate", "every_seconds"}
    if unknown:
        return Reply.json(400, {"error": f"unknown fields: {', '.join(sorted(unknown))}"})
    rate, every = payload.get("error_rate"), payload.get("every_seconds", 60)
    numbers = [v for v in (rate, every) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2:
        return Reply.json(400, {"error": "error_rate and every_seconds must be numbers"})
    try:
        profile = state.store.set_build_traffic(
            build_sid, error_rate=float(numbers[0]), every=float(numbers[1])
        )
    except ApiError as error:
        return Reply.json(error.status, {"error": error.message})
    return Reply.json(201, {"build_sid": build_sid, **asdict(profile)})
