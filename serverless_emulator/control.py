"""Control endpoints under /_emulator/, for demos (`make run`) and scripts.

No auth: the emulator binds only where told (127.0.0.1 by default).

    GET    /_emulator/health
    GET    /_emulator/faults       the active faults and knobs
    POST   /_emulator/faults       JSON: Fault fields, and/or latency_ms, error_rate, error_status
    DELETE /_emulator/faults       clear all
    GET    /_emulator/requests     the recorded v1 requests (Authorization redacted)
    DELETE /_emulator/requests
    POST   /_emulator/reset        JSON {"seed": "demo" | "empty" | null}
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from .faults import Fault, FaultInjector
from .reply import Reply

if TYPE_CHECKING:
    from .server import ServerState

KNOBS = ("latency_ms", "error_rate", "error_status")
FAULT_FIELDS = {f.name for f in fields(Fault)} - {"hits"}


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
