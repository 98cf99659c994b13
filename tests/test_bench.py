"""`make bench` at a tiny size, so that the benchmark never rots.

It runs as a subprocess, as `make bench` does: its own emulator, its own gunicorn and its
own SQLite file, so no test database is involved. Only the shape of the results is
checked, never a target: timings on a shared machine are noise at this size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Each scenario and the figures it must report as numbers.
FIGURES: dict[str, tuple[str, ...]] = {
    "emulator_list": ("list_1000_ms", "bench_history_ms"),
    "bounded_pool": ("sequential_ms", "pooled_ms", "floor_ms"),
    "cold_first_paint": ("ms", "rtt", "floor_rtt", "x_floor", "upstream_calls", "lazy_rows"),
    "cold_complete": ("ms", "rtt", "floor_rtt", "x_floor", "upstream_calls", "duplicates"),
    "warm_overview": ("server_ms", "client_ms", "upstream_calls", "errors"),
    "self_refresh": ("client_ms", "upstream_calls", "errors"),
    "review_after_expiry": ("ms", "rtt", "floor_rtt", "x_floor", "upstream_calls"),
    "load_more": ("pages_followed", "pages_expected", "late_over_early"),
    "throughput": ("overview_percent_of_trivial", "upstream_calls"),
}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_benchmark_reports_every_scenario_with_numbers(tmp_path):
    out = tmp_path / "bench.json"
    bench = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--quick",
            "--scaling",
            "1,2",
            "--duration",
            "0.5",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.terminate()  # SIGTERM: the benchmark stops its gunicorn processes first
            bench.communicate(timeout=30)
    assert bench.returncode == 0, f"stdout:\n{stdout}\nstderr:\n{stderr}"
    results = json.loads(out.read_text())

    assert {"date", "platform", "cpu_count", "python"} <= results["machine"].keys()
    scenarios = results["scenarios"]
    for scenario, figures in FIGURES.items():
        assert "error" not in scenarios[scenario], scenarios[scenario]["error"]
        for figure in figures:
            assert is_number(scenarios[scenario][figure]), (scenario, figure)
    for load in ("overview", "trivial"):
        for figure in ("per_second", "p50_ms", "p95_ms", "p99_ms", "errors"):
            assert is_number(scenarios["throughput"][load][figure]), (load, figure)
    assert scenarios["load_more"]["per_k"], "no 'Load more' page was followed"
    assert all(is_number(k["ms"]) for k in scenarios["load_more"]["per_k"])
    assert [size["services"] for size in scenarios["scaling"]["sizes"]] == [1, 2]
    assert all(is_number(size["x_floor"]) for size in scenarios["scaling"]["sizes"])
    # Every target is a verdict, whatever it says.
    assert results["checks"]
    assert all(isinstance(check["passed"], bool) for check in results["checks"])
    assert not results["summary"]["errors"]
    # The printed report names each target's verdict.
    assert "PASS" in stdout or "FAIL" in stdout
