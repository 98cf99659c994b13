"""Fault injection: make chosen requests slow, failing, garbled or cut off."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BodyKind = Literal["twilio", "html", "malformed", "empty"]
BODY_KINDS: tuple[str, ...] = ("twilio", "html", "malformed", "empty")


@dataclass
class Fault:
    """One rule. The first active rule whose method and path match applies.

    - `path`: regex searched in the request path (no query string).
    - `status`: the answer's status; None = answer normally (only
      `delay_ms` / `drop_connection` then matter).
    - `count`: how many matching requests it hits; None = forever.
    - `body`: "twilio" (error JSON), "html" (proxy error page), "malformed"
      (truncated JSON) or "empty".
    - `after_effect`: perform the request for real first (the deployment IS
      created), then delay / fail / drop: "timeout after the POST was sent".
    - `drop_connection`: close the socket without any answer.
    """

    method: str | None = None
    path: str = ""
    status: int | None = 503
    count: int | None = 1
    body: BodyKind = "twilio"
    delay_ms: int = 0
    retry_after: int | None = None
    after_effect: bool = False
    drop_connection: bool = False
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.body not in BODY_KINDS:
            raise ValueError(f"body must be one of {', '.join(BODY_KINDS)}")
        if self.method is not None:
            self.method = self.method.upper()
        re.compile(self.path)  # fail on add, not on the first request

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return re.search(self.path, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """Thread-safe set of faults plus the global knobs.

    `latency_ms` delays every v1 request; `error_rate` (0..1) answers that
    share of v1 requests with `error_status` and a Twilio error body.
    """

    def __init__(self, *, latency_ms: int = 0, rng_seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(rng_seed)
        self._baseline_latency_ms = latency_ms
        self.latency_ms = latency_ms
        self.error_rate = 0.0
        self.error_status = 503

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault; knobs back to how the emulator was started."""
        with self._lock:
            self._faults.clear()
            self.latency_ms = self._baseline_latency_ms
            self.error_rate = 0.0
            self.error_status = 503

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counted as hit; or a random error; or None."""
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fault.matches(method, path):
                    fault.hits += 1
                    return fault
            if self.error_rate > 0 and self._random.random() < self.error_rate:
                return Fault(status=self.error_status, count=None)
        return None
