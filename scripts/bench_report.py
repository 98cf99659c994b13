"""How the benchmark states its figures: absolute, in RTT, against the floor, against a target.

Every figure a scenario prints also goes into its JSON entry; every comparison with a
target of issue 9 becomes a `Check`, printed PASS or FAIL and listed in the JSON.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    scenario: str
    figure: str
    value: float
    op: str  # "<=", ">=" or "=="
    target: float
    unit: str
    note: str = ""

    @property
    def passed(self) -> bool:
        if self.op == "<=":
            return self.value <= self.target
        if self.op == ">=":
            return self.value >= self.target
        return self.value == self.target

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        note = f" ({self.note})" if self.note else ""
        return (
            f"  {verdict}  {self.figure}: {_num(self.value)} {self.unit} "
            f"{self.op} {_num(self.target)} {self.unit}{note}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"passed": self.passed}


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def ceil_div(n: int, d: int) -> int:
    return math.ceil(n / d) if n > 0 else 0


def median(values: Iterable[float]) -> float:
    items = list(values)
    return float(statistics.median(items)) if items else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def measure_ms(run: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@dataclass
class Timed:
    """A duration beside the round trip and the floor it is measured against."""

    ms: float
    rtt_ms: float
    floor_rtt: int | None = None

    @property
    def rtt(self) -> float | None:
        return self.ms / self.rtt_ms if self.rtt_ms > 0 else None

    @property
    def floor_ms(self) -> float | None:
        return None if self.floor_rtt is None else self.floor_rtt * self.rtt_ms

    @property
    def x_floor(self) -> float | None:
        floor = self.floor_ms
        return self.ms / floor if floor else None

    def text(self) -> str:
        parts = [f"{self.ms:.0f} ms"]
        if self.rtt is not None:
            parts.append(f"{self.rtt:.1f} RTT")
        if self.floor_rtt is not None and self.x_floor is not None:
            parts.append(f"{self.x_floor:.2f}x its floor of {self.floor_rtt} RTT")
        return " = ".join(parts[:2]) + (f", {parts[2]}" if len(parts) > 2 else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "ms": round(self.ms, 2),
            "rtt": None if self.rtt is None else round(self.rtt, 3),
            "floor_rtt": self.floor_rtt,
            "floor_ms": None if self.floor_ms is None else round(self.floor_ms, 2),
            "x_floor": None if self.x_floor is None else round(self.x_floor, 3),
        }


def duplicates(requests: Iterable[tuple[str, str]]) -> int:
    """How many requests repeat an earlier (method, path+query) of the same set."""
    return sum(n - 1 for n in Counter(requests).values() if n > 1)


def machine() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        gunicorn = version("gunicorn")
    except Exception:  # a missing package only leaves the field empty
        gunicorn = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "gunicorn": gunicorn,
        "load_average": load_average(),
    }


def load_average() -> list[float] | None:
    """1, 5 and 15 minutes; above the CPU count, the figures are noise as much as signal."""
    try:
        return [round(n, 2) for n in os.getloadavg()]
    except (AttributeError, OSError):
        return None


@dataclass
class Report:
    """Scenarios' figures and checks, printed as they come and written as JSON at the end."""

    options: dict[str, Any]
    started: dict[str, Any] = field(default_factory=machine)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def heading(self, title: str) -> None:
        print(f"\n== {title}", flush=True)

    def say(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def record(self, scenario: str, figures: dict[str, Any]) -> None:
        self.scenarios.setdefault(scenario, {}).update(figures)

    def check(
        self,
        scenario: str,
        figure: str,
        value: float,
        op: str,
        target: float,
        unit: str,
        note: str = "",
    ) -> Check:
        item = Check(scenario, figure, float(value), op, float(target), unit, note)
        self.checks.append(item)
        print(item.line(), flush=True)
        return item

    def fail(self, scenario: str, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        self.errors[scenario] = message
        self.scenarios.setdefault(scenario, {})["error"] = message
        print(f"  ERROR in {scenario}: {message}", file=sys.stderr, flush=True)

    def summary(self) -> None:
        passed = sum(c.passed for c in self.checks)
        print(f"\n== Targets: {passed} of {len(self.checks)} met", flush=True)
        for item in self.checks:
            if not item.passed:
                print(f"  FAIL  [{item.scenario}] {item.figure}", flush=True)
        for scenario, message in self.errors.items():
            print(f"  ERROR [{scenario}] {message}", flush=True)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "machine": self.started | {"load_average_at_end": load_average()},
            "options": self.options,
            "scenarios": self.scenarios,
            "checks": [c.to_json() for c in self.checks],
            "summary": {
                "checks": len(self.checks),
                "passed": sum(c.passed for c in self.checks),
                "errors": self.errors,
            },
        }
        path.write_text(json.dumps(body, indent=2, default=str) + "\n")
