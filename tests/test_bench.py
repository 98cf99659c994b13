"""`make bench` at a tiny size, so that the benchmark never rots.

It runs as a subprocess, as `make bench` does: its own emulator process, its own gunicorn
and its own SQLite file, so no test database is involved. Only the shape of the results is
checked, never a target: timings on a shared machine are noise at this size. Neither a
finished nor an interrupted run may leave an emulator or a gunicorn behind: each run gets a
TMPDIR of its own, which every process it starts inherits, and /proc is searched for it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = str(ROOT / "scripts" / "bench.py")
PROC = Path("/proc")
needs_proc = pytest.mark.skipif(
    not (PROC / "self" / "environ").exists(), reason="finds the run's processes in /proc"
)

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


def own_tmpdir(tmp_path: Path) -> tuple[dict[str, str], str]:
    """An environment whose TMPDIR marks every process of the run, and that marker."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return os.environ | {"TMPDIR": str(tmp)}, f"TMPDIR={tmp}"


def processes_with(marker: str) -> list[str]:
    """Live processes (not zombies) whose environment holds `marker`: their command lines."""
    if not PROC.is_dir():
        return []
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if marker.encode() in environ.split(b"\0"):
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found


def left_behind(marker: str, grace: float = 3.0) -> list[str]:
    """What still runs a moment after the benchmark exited (killed processes take a tick)."""
    deadline = time.monotonic() + grace
    while (found := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_quick_benchmark_reports_every_scenario_with_numbers(tmp_path):
    out = tmp_path / "bench.json"
    env, marker = own_tmpdir(tmp_path)
    bench = subprocess.Popen(
        [
            sys.executable,
            BENCH,
            "--quick",
            "--scaling",
            "1,2",
            "--duration",
            "0.5",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
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
    assert left_behind(marker) == []
    results = json.loads(out.read_text())

    assert {"date", "platform", "cpu_count", "python"} <= results["machine"].keys()
    assert results["machine"]["emulator"]["process"] == "separate"
    assert "in a process of its own" in stdout
    scenarios = results["scenarios"]
    # Counted from the emulator process's request log, over HTTP.
    assert scenarios["cold_complete"]["upstream_calls"] > 0
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


@needs_proc
def test_an_interrupted_benchmark_leaves_no_process_behind(tmp_path):
    """Ctrl-C in the middle of a scenario: the emulator and gunicorn stop with the benchmark."""
    out = tmp_path / "bench.json"
    env, marker = own_tmpdir(tmp_path)
    bench = subprocess.Popen(
        [sys.executable, BENCH, "--quick", "--only", "cold", "--json", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any("gunicorn" in p for p in processes_with(marker)):
            assert bench.poll() is None, bench.communicate()
            assert time.monotonic() < deadline, "no gunicorn started within 60 s"
            time.sleep(0.05)
        running = processes_with(marker)
        assert any("serverless_emulator" in p for p in running), running
        time.sleep(0.3)  # into the cold runs
        bench.send_signal(signal.SIGINT)
        stdout, stderr = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.communicate(timeout=30)
    assert bench.returncode == 130, f"stdout:\n{stdout}\nstderr:\n{stderr}"
    assert left_behind(marker) == []
    assert "interrupted" in json.loads(out.read_text())["summary"]["errors"]["run"]
