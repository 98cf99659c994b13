"""The dashboard's scenarios of issue 9, each against gunicorn and the emulator's process.

The emulator runs in a process of its own (`EmulatorProcess`), as a real Twilio does its
work elsewhere. RTT is the latency it adds to every call (`--latency-ms`); C is
TWILIO_MAX_CONCURRENCY. Upstream calls are the emulator's request log, read over HTTP
(`GET /_emulator/requests`, `/v1/` paths only) and only outside timed sections (it carries
every response body), a moment after the page (or its last lazy row) arrived so that
nothing still in flight is missed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests
from bench_data import Shape
from bench_http import (
    TIMEOUT,
    Browser,
    Call,
    DashboardServer,
    EmulatorProcess,
    ServerFailed,
    Upstream,
    load_more_url,
    server_timing_ms,
)
from bench_report import Report, Timed, ceil_div, duplicates, median, percentile

# A page "at its floor" may add this much of its own work to the round trips: the server
# time the issue allows a warm overview.
SERVER_ALLOWANCE_MS = 20.0
COLD_TARGET_X_FLOOR = 1.5
THROUGHPUT_TARGET_PERCENT = 50.0
TRIVIAL_PATH = "/approvals/count/"  # the header badge: signed in, a few queries, no upstream
# What htmx sends when the overview polls itself (hx-trigger="every 10s").
POLL_HEADERS = {"HX-Trigger": "overview-body", "HX-Target": "overview-body"}
# ... and when "Load more" is clicked (hx-target="#load-more-row").
LOAD_MORE_HEADERS = {"HX-Trigger": "load-more", "HX-Target": "load-more-row"}


@dataclass(frozen=True)
class Options:
    services: int
    environments: int
    deployments: int
    latency_ms: int
    concurrency: int
    runs: int
    warm_requests: int
    short_lifetime: int
    page_size: int
    duration: float
    load_concurrency: int
    scaling: tuple[int, ...]
    redis_url: str | None


@dataclass
class Bench:
    """What every scenario shares: the emulator's process, the account's shape, the report."""

    emu: EmulatorProcess
    shape: Shape
    options: Options
    report: Report
    workdir: Path
    cookies: dict[str, str] = field(default_factory=dict)

    def upstream(self) -> Upstream:
        """The emulator as it runs now: its address changes when it is restarted."""
        return self.emu.upstream(self.options.concurrency)

    @property
    def rtt_ms(self) -> float:
        return float(self.options.latency_ms)

    def server(
        self, *, workers: int = 1, live_cache_seconds: int | None = None, access_log: bool = True
    ) -> DashboardServer:
        return DashboardServer(
            self.upstream(),
            self.workdir,
            workers=workers,
            live_cache_seconds=live_cache_seconds,
            redis_url=self.options.redis_url,
            access_log=access_log,
        )

    @contextmanager
    def browser(self, server: DashboardServer) -> Iterator[Browser]:
        """A signed-in browser (one sign-in per database; the session outlives restarts)."""
        with Browser(server.base_url, self.cookies) as browser:
            if not self.cookies:
                browser.login()
                self.cookies = browser.cookies()
            yield browser

    # ----------------------------------------------------------- the request log

    def settle(self) -> None:
        time.sleep(0.05 + 2 * self.rtt_ms / 1000)

    def calls(self) -> list[Call]:
        """The request log over HTTP, response bodies and all: never in a timed section."""
        return self.emu.calls()

    def start_counting(self) -> None:
        self.emu.clear_calls()

    def counted(self) -> list[Call]:
        self.settle()
        return self.calls()

    def timed(self, ms: float, floor_rtt: int | None) -> Timed:
        return Timed(ms=ms, rtt_ms=self.rtt_ms, floor_rtt=floor_rtt)

    def floors(self, shape: Shape | None = None) -> dict[str, int]:
        shape = shape or self.shape
        c = self.options.concurrency
        lists = ceil_div(shape.services, c)
        return {
            "first_paint": 3 + lists,
            "complete": 1 + lists + ceil_div(shape.live_environments + shape.live_services, c),
            "review": 1 + lists,
        }


def request_key(item: Call) -> tuple[str, str]:
    query = urlencode(sorted((k, v) for k, values in item.query.items() for v in values))
    return (item.method, f"{item.path}?{query}")


def repeated(calls: list[Call]) -> tuple[str, ...]:
    """The requests read more than once, as "METHOD path?query"."""
    counts = Counter(request_key(r) for r in calls)
    return tuple(sorted(" ".join(key) for key, n in counts.items() if n > 1))


@dataclass(frozen=True)
class ColdRun:
    first_paint_ms: float
    complete_ms: float
    lazy_rows: int
    calls: int
    duplicates: int
    repeated: tuple[str, ...]
    errors: tuple[str, ...]


def cold_page(bench: Bench, server: DashboardServer) -> ColdRun:
    """One complete overview from an empty cache (the caller emptied it), timed end to end.

    Nothing reads the request log between the first paint and its lazy rows: the first
    paint starts the rows' upstream reads in the background, and a pause there would give
    them a head start. `first_paint_calls` counts the first paint's calls in a run of its own.
    """
    with bench.browser(server) as browser:
        # Opens this thread's database connection and session; reads nothing upstream.
        browser.get(TRIVIAL_PATH).raise_for_status()
        bench.settle()
        bench.start_counting()
        fetched = browser.page("/")
        calls = bench.counted()
    return ColdRun(
        first_paint_ms=fetched.first_paint_ms,
        complete_ms=fetched.complete_ms,
        lazy_rows=fetched.lazy_rows,
        calls=len(calls),
        duplicates=duplicates(request_key(r) for r in calls),
        repeated=repeated(calls),
        errors=tuple(fetched.errors),
    )


def first_paint_calls(bench: Bench, server: DashboardServer) -> int:
    """Upstream calls made by the time a cold first paint arrived: an untimed run of its own.

    Read right after the page, without waiting: the lazy rows' reads it started in the
    background are mostly still in flight (each takes at least one RTT).
    """
    server.make_cold()
    with bench.browser(server) as browser:
        browser.get(TRIVIAL_PATH).raise_for_status()
        bench.settle()
        bench.start_counting()
        answer = browser.get("/")
        calls = len(bench.calls())
    if answer.status_code != 200:
        raise ServerFailed(f"GET / answered HTTP {answer.status_code}\n{answer.text[:1000]}")
    return calls


def describe_size(bench: Bench, shape: Shape) -> str:
    o = bench.options
    return (
        f"{shape.services} services x {shape.environments} environments "
        f"({shape.live_environments} live), {shape.deployments} deployments each, "
        f"RTT {o.latency_ms} ms, C {o.concurrency}"
    )


# ---------------------------------------------------------------------------- scenarios


def cold_overview(bench: Bench) -> None:
    """Cold first paint and complete page; then, on the same warm server, the warm ones."""
    floors = bench.floors()
    server = bench.server(workers=1)
    try:
        runs = []
        for _ in range(bench.options.runs):
            server.make_cold()
            runs.append(cold_page(bench, server))
        # After the timed runs; the warm scenarios that follow fill the cache anyway.
        painted_calls = first_paint_calls(bench, server)
        _report_cold(bench, runs, floors, painted_calls)
        warm_overview(bench, server)
        self_refresh(bench, server)
        load_more(bench, server)
    finally:
        server.stop()


def _report_cold(
    bench: Bench, runs: list[ColdRun], floors: dict[str, int], painted_calls: int
) -> None:
    report, shape = bench.report, bench.shape
    first = bench.timed(median(r.first_paint_ms for r in runs), floors["first_paint"])
    complete = bench.timed(median(r.complete_ms for r in runs), floors["complete"])
    lazy = runs[0].lazy_rows
    needed = shape.calls_needed()
    dups = max(r.duplicates for r in runs)
    errors = sorted({e for r in runs for e in r.errors})

    report.heading(
        f"Cold overview, first paint: {describe_size(bench, shape)}; median of {len(runs)}"
    )
    report.say(
        f"first paint: {first.text()}; {painted_calls} upstream calls "
        "(counted in an untimed cold run of their own)"
    )
    if lazy == 0:
        report.say("no lazy rows: the first paint is the complete page")
    report.check(
        "cold_first_paint",
        "first paint",
        first.ms,
        "<=",
        (first.floor_ms or 0) + SERVER_ALLOWANCE_MS,
        "ms",
        f"3 + ceil(S/C) = {floors['first_paint']} RTT, "
        f"plus {SERVER_ALLOWANCE_MS:.0f} ms server time",
    )
    report.record(
        "cold_first_paint",
        {
            **first.to_json(),
            "upstream_calls": painted_calls,
            "lazy_rows": lazy,
            "runs_ms": [round(r.first_paint_ms, 2) for r in runs],
        },
    )

    report.heading(f"Cold overview, complete (first paint + {lazy} lazy rows, 6 connections)")
    report.say(
        f"complete: {complete.text()}; {runs[0].calls} upstream calls "
        f"(the data needs {needed}: 1 service list, {shape.services} environment lists, "
        f"{shape.live_environments} histories, {shape.live_services} build lists)"
    )
    report.say(f"no re-reading: {dups} duplicate upstream requests")
    rereads = sorted({item for r in runs for item in r.repeated})
    for item in rereads[:5]:
        report.say(f"read more than once: {item}")
    for error in errors:
        report.say(f"error: {error}")
    report.check(
        "cold_complete",
        "complete page",
        complete.ms,
        "<=",
        COLD_TARGET_X_FLOOR * (complete.floor_ms or 0),
        "ms",
        f"{COLD_TARGET_X_FLOOR}x the floor of 1 + ceil(S/C) + ceil((L + S_live)/C) "
        f"= {floors['complete']} RTT",
    )
    report.check("cold_complete", "upstream calls", runs[0].calls, "<=", needed, "calls")
    report.check("cold_complete", "duplicate upstream requests", dups, "==", 0, "requests")
    report.record(
        "cold_complete",
        {
            **complete.to_json(),
            "upstream_calls": runs[0].calls,
            "calls_needed": needed,
            "duplicates": dups,
            "read_more_than_once": rereads,
            "lazy_rows": lazy,
            "errors": len(errors),
            "runs_ms": [round(r.complete_ms, 2) for r in runs],
        },
    )


def warm_overview(bench: Bench, server: DashboardServer) -> None:
    report, o = bench.report, bench.options
    with bench.browser(server) as browser:
        browser.page("/")  # within the lifetime: everything a complete page needs is cached
        bench.settle()
        bench.start_counting()
        mark = server.access_mark()
        client_ms: list[float] = []
        timing_ms: list[float] = []
        lazy = errors = 0
        for _ in range(o.warm_requests):
            started = time.perf_counter()
            answer = browser.get("/")
            client_ms.append((time.perf_counter() - started) * 1000)
            errors += answer.status_code != 200
            timing = server_timing_ms(answer)
            if timing is not None:
                timing_ms.append(timing)
            lazy += answer.text.count("data-lazy-row")
        calls = len(bench.counted())
        logged = server.access_times(since=mark, path="/")
    client = median(client_ms)
    header = median(timing_ms) if timing_ms else None
    access = median(logged) if logged else None
    if header is not None:
        measured, source = header, "Server-Timing"
    elif access is not None:
        measured, source = access, "gunicorn's request time"
    else:
        measured, source = client, "client side, loopback"
    report.heading(f"Warm overview: GET / x {o.warm_requests} within the cache lifetime")
    report.say(
        f"server {_ms(access)} (gunicorn's request time), Server-Timing {_ms(header)}, "
        f"client {client:.1f} ms on loopback; medians"
    )
    report.say(f"{calls} upstream calls; {lazy} lazy rows; {errors} errors")
    report.check("warm_overview", "server time", measured, "<=", SERVER_ALLOWANCE_MS, "ms", source)
    report.check("warm_overview", "upstream calls", calls, "==", 0, "calls")
    report.record(
        "warm_overview",
        {
            "requests": o.warm_requests,
            "server_ms": None if access is None else round(access, 2),
            "server_timing_ms": None if header is None else round(header, 2),
            "client_ms": round(client, 2),
            "client_p95_ms": round(percentile(client_ms, 95), 2),
            "upstream_calls": calls,
            "lazy_rows": lazy,
            "errors": errors,
        },
    )


def _median_or_none(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def self_refresh(bench: Bench, server: DashboardServer, polls: int = 5) -> None:
    report = bench.report
    with bench.browser(server) as browser:
        browser.page("/")
        bench.settle()
        bench.start_counting()
        mark = server.access_mark()
        times: list[float] = []
        errors = 0
        for _ in range(polls):
            started = time.perf_counter()
            answer = browser.get("/", htmx=True, headers=POLL_HEADERS)
            times.append((time.perf_counter() - started) * 1000)
            errors += answer.status_code != 200
        calls = len(bench.counted())
        logged = server.access_times(since=mark, path="/")
    access = median(logged) if logged else None
    report.heading(f"Self-refresh: the 10 s htmx poll (GET / with HX-Request) x {polls}, warm")
    report.say(
        f"server {_ms(access)}, client {median(times):.1f} ms; {calls} upstream calls; "
        f"{errors} errors"
    )
    report.check("self_refresh", "upstream calls", calls, "==", 0, "calls")
    report.record(
        "self_refresh",
        {
            "polls": polls,
            "server_ms": None if access is None else round(access, 2),
            "client_ms": round(median(times), 2),
            "upstream_calls": calls,
            "errors": errors,
        },
    )


@dataclass(frozen=True)
class Step:
    """Page k + 1 of a history, reached by the k-th "Load more"."""

    k: int
    ms: float  # client side, median of the passes
    server_ms: float | None  # gunicorn's request time, median of the passes
    calls: int  # in the first pass
    later_calls: list[int]


def load_more(bench: Bench, server: DashboardServer, max_pages: int = 100) -> None:
    """Open an environment page, then follow "Load more" to the end of its history."""
    report, o, shape = bench.report, bench.options, bench.shape
    path = (
        f"/services/{shape.first_service_sid}/environments/{shape.first_environment_sid}/"
        f"?page_size={o.page_size}"
    )
    expected = ceil_div(shape.deployments, o.page_size) - 1
    passes: list[list[tuple[float, int, float | None]]] = []
    page_open: list[tuple[float, int]] = []
    errors: list[str] = []
    with bench.browser(server) as browser:
        for _ in range(o.runs):
            bench.start_counting()
            started = time.perf_counter()
            answer = browser.get(path)
            page_open.append(((time.perf_counter() - started) * 1000, len(bench.counted())))
            if answer.status_code != 200:
                errors.append(f"GET {path}: HTTP {answer.status_code}")
            url = load_more_url(answer.text)
            steps: list[tuple[float, int, float | None]] = []
            while url and len(steps) < max_pages:
                bench.start_counting()
                mark = server.access_mark()
                started = time.perf_counter()
                answer = browser.get(url, htmx=True, headers=LOAD_MORE_HEADERS)
                ms = (time.perf_counter() - started) * 1000
                calls = len(bench.counted())
                logged = server.access_times(since=mark)
                steps.append((ms, calls, logged[-1] if logged else None))
                if answer.status_code != 200:
                    errors.append(f"GET {url}: HTTP {answer.status_code}")
                    break
                url = load_more_url(answer.text)
            passes.append(steps)
    depth = min(len(p) for p in passes)
    steps_k = [
        Step(
            k=k + 1,
            ms=median(p[k][0] for p in passes),
            server_ms=_median_or_none(p[k][2] for p in passes),
            calls=passes[0][k][1],
            later_calls=[p[k][1] for p in passes[1:]],
        )
        for k in range(depth)
    ]
    report.heading(
        f"History 'Load more': {shape.deployments} deployments, page_size={o.page_size}, "
        f"k = 1..{depth}; median of {len(passes)} passes"
    )
    # The first opening is the one that reads; later ones find the page's data cached.
    open_timed = bench.timed(page_open[0][0], 1)
    again = median(ms for ms, _ in page_open[1:]) if len(page_open) > 1 else None
    report.say(
        f"environment page, first opened: {open_timed.text()}; {page_open[0][1]} upstream "
        f"calls" + (f"; opened again: {again:.0f} ms, {page_open[-1][1]} calls" if again else "")
    )
    for step in steps_k:
        report.say(
            f"k={step.k:>2}: {bench.timed(step.ms, 1).text()}; server {_ms(step.server_ms)}; "
            f"{step.calls} upstream call(s)"
        )
    for error in errors:
        report.say(f"error: {error}")
    page_calls = [step.calls for step in steps_k]
    # Server time when gunicorn logged it, else what the client saw.
    times = [step.ms if step.server_ms is None else step.server_ms for step in steps_k]
    report.check("load_more", "pages followed", depth, "==", expected, "pages")
    report.check(
        "load_more",
        "most upstream calls for one page",
        max(page_calls, default=0),
        "==",
        1,
        "calls",
    )
    report.check(
        "load_more",
        "fewest upstream calls for one page",
        min(page_calls, default=0),
        "==",
        1,
        "calls",
    )
    third = max(1, len(times) // 3)
    early, late = median(times[:third]), median(times[-third:])
    ratio = late / early if early else 0.0
    report.check(
        "load_more",
        "time of the last pages / the first pages",
        ratio,
        "<=",
        1.25,
        "x",
        f"{late:.0f} ms / {early:.0f} ms: flat in k",
    )
    report.record(
        "load_more",
        {
            "page_size": o.page_size,
            "pages_followed": depth,
            "pages_expected": expected,
            "environment_page": open_timed.to_json()
            | {
                "upstream_calls": page_open[0][1],
                "again_ms": None if again is None else round(again, 2),
                "again_upstream_calls": page_open[-1][1],
            },
            "per_k": [
                {
                    "k": step.k,
                    "ms": round(step.ms, 2),
                    "server_ms": None if step.server_ms is None else round(step.server_ms, 2),
                    "upstream_calls": step.calls,
                    "upstream_calls_later_passes": step.later_calls,
                }
                for step in steps_k
            ],
            "late_over_early": round(ratio, 3),
            "errors": len(errors),
        },
    )


def review_after_expiry(bench: Bench) -> None:
    report, o, shape = bench.report, bench.options, bench.shape
    floor = bench.floors()["review"]
    server = bench.server(workers=1, live_cache_seconds=o.short_lifetime)
    runs: list[tuple[float, int, int, int]] = []
    try:
        server.make_cold()
        with bench.browser(server) as browser:
            browser.page("/")  # warm: the immutable entries are now cached for long
            for _ in range(o.runs):
                time.sleep(o.short_lifetime + 0.5)
                bench.start_counting()
                fetched = browser.page("/")
                calls = bench.counted()
                dups = duplicates(request_key(r) for r in calls)
                runs.append((fetched.complete_ms, len(calls), fetched.lazy_rows, dups))
    finally:
        server.stop()
    timed = bench.timed(median(r[0] for r in runs), floor)
    report.heading(
        f"Re-view after the short lifetime expired (DASHBOARD_LIVE_CACHE_SECONDS="
        f"{o.short_lifetime}, waited {o.short_lifetime + 0.5:g} s); median of {len(runs)}"
    )
    report.say(
        f"complete: {timed.text()}; {runs[0][1]} upstream calls (what is live: "
        f"1 service list + {shape.services} environment lists = {1 + shape.services}); "
        f"{runs[0][2]} lazy rows; {max(r[3] for r in runs)} duplicates"
    )
    report.check(
        "review_after_expiry",
        "complete page",
        timed.ms,
        "<=",
        (timed.floor_ms or 0) + SERVER_ALLOWANCE_MS,
        "ms",
        f"1 + ceil(S/C) = {floor} RTT, plus {SERVER_ALLOWANCE_MS:.0f} ms server time",
    )
    report.record(
        "review_after_expiry",
        {
            **timed.to_json(),
            "upstream_calls": runs[0][1],
            "lazy_rows": runs[0][2],
            "duplicates": max(r[3] for r in runs),
            "live_cache_seconds": o.short_lifetime,
            "runs_ms": [round(r[0], 2) for r in runs],
        },
    )


def scaling(bench: Bench) -> None:
    """The cold complete overview per account size, beside its floor (changes the data).

    Per size, a new state file and a new emulator process (on a new port), then a new
    dashboard process pointed at it.
    """
    report, o = bench.report, bench.options
    report.heading(
        f"Scaling: cold complete overview for {', '.join(map(str, o.scaling))} services "
        "(a new state file and emulator process per size)"
    )
    server = bench.server(workers=1)
    rows = []
    try:
        for size in o.scaling:
            server.stop()  # it would read the emulator that is about to stop
            shape = bench.emu.load(
                services=size,
                environments=o.environments,
                deployments=o.deployments,
            )
            server.upstream = bench.upstream()
            floor = bench.floors(shape)["complete"]
            runs = []
            for _ in range(o.runs):
                server.make_cold()
                runs.append(cold_page(bench, server))
            timed = bench.timed(median(r.complete_ms for r in runs), floor)
            per_env = shape.all_environments
            report.say(
                f"{size:>3} services: {timed.text()}; {runs[0].calls} upstream calls; "
                f"one RTT per environment would be {per_env} RTT"
            )
            report.check(
                "scaling",
                f"complete page, {size} services",
                timed.ms,
                "<=",
                COLD_TARGET_X_FLOOR * (timed.floor_ms or 0),
                "ms",
                f"{COLD_TARGET_X_FLOOR}x the floor of {floor} RTT",
            )
            rows.append(
                {
                    "services": size,
                    **timed.to_json(),
                    "upstream_calls": runs[0].calls,
                    "calls_needed": shape.calls_needed(),
                    "duplicates": max(r.duplicates for r in runs),
                    "lazy_rows": runs[0].lazy_rows,
                    "one_rtt_per_environment": per_env,
                }
            )
    finally:
        server.stop()
    report.record("scaling", {"sizes": rows})


# -------------------------------------------------------------------------- throughput


@dataclass
class Load:
    """What one kind of request did under load."""

    path: str
    count: int = 0
    errors: int = 0
    lazy_rows: int = 0  # placeholders in the answers: a page that was not complete
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.count,
            "errors": self.errors,
            "lazy_rows": self.lazy_rows,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p95_ms": round(percentile(self.latencies_ms, 95), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
        }


def generate_load(
    base_url: str, cookies: dict[str, str], load: Load, *, concurrency: int, seconds: float
) -> None:
    """`concurrency` closed-loop clients hitting one path for `seconds`; adds to `load`."""
    url = f"{base_url}{load.path}"
    deadline = time.perf_counter() + seconds

    def client() -> tuple[int, int, int, list[float]]:
        count = errors = lazy = 0
        latencies: list[float] = []
        with requests.Session() as session:
            session.cookies.update(cookies)
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    answer = session.get(url, timeout=TIMEOUT, allow_redirects=False)
                    ok = answer.status_code == 200
                    lazy += answer.content.count(b"data-lazy-row")
                except requests.RequestException:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                count += 1
                errors += not ok
        return count, errors, lazy, latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="load") as pool:
        results = list(pool.map(lambda _: client(), range(concurrency)))
    load.seconds += time.perf_counter() - started
    for count, errors, lazy, latencies in results:
        load.count += count
        load.errors += errors
        load.lazy_rows += lazy
        load.latencies_ms += latencies


def warm_workers(bench: Bench, server: DashboardServer, *, rounds: int = 10) -> int:
    """Complete overviews on fresh connections until 3 rounds in a row read nothing upstream.

    Each gunicorn worker has its own local-memory cache; new connections land on either.
    """
    quiet = 0
    for n in range(1, rounds + 1):
        bench.start_counting()

        def visit(_: int) -> None:
            with Browser(server.base_url, bench.cookies) as browser:
                browser.page("/")
                browser.get(TRIVIAL_PATH)

        with ThreadPoolExecutor(bench.options.load_concurrency) as pool:
            list(pool.map(visit, range(bench.options.load_concurrency)))
        quiet = quiet + 1 if not bench.counted() else 0
        if quiet >= 3:
            return n
    return rounds


def throughput(bench: Bench) -> None:
    report, o = bench.report, bench.options
    # Long enough that nothing expires during the run: this measures a warm cache.
    lifetime = int(2 * o.duration + 600)
    # No access log: a write per request would tax both views.
    server = bench.server(workers=2, live_cache_seconds=lifetime, access_log=False)
    overview, trivial = Load("/"), Load(TRIVIAL_PATH)
    slices = max(1, round(o.duration / 5))
    try:
        server.make_cold()
        with bench.browser(server):
            pass  # signs in if nothing did before
        rounds = warm_workers(bench, server)
        bench.start_counting()
        # Alternating slices (ABBA) so that drift on a noisy machine hits both alike.
        for i in range(slices):
            order = (trivial, overview) if i % 2 == 0 else (overview, trivial)
            for load in order:
                generate_load(
                    server.base_url,
                    bench.cookies,
                    load,
                    concurrency=o.load_concurrency,
                    seconds=o.duration / slices,
                )
        calls = len(bench.counted())
    finally:
        server.stop()
    percent = 100 * overview.per_second / trivial.per_second if trivial.per_second else 0.0
    report.heading(
        f"Throughput: gunicorn 2 workers x 8 threads, warm cache, {o.load_concurrency} clients "
        f"on loopback, {o.duration:g} s per view in {slices} alternating slices"
    )
    report.say(f"warm-up: {rounds} rounds of {o.load_concurrency} complete overviews")
    for load, name in ((overview, "overview  "), (trivial, "trivial   ")):
        s = load.summary()
        report.say(
            f"{name}{load.path:<18} {s['per_second']:>7.1f} req/s  p50 {s['p50_ms']:.1f} ms  "
            f"p95 {s['p95_ms']:.1f} ms  p99 {s['p99_ms']:.1f} ms  "
            f"({s['requests']} requests, {s['errors']} errors)"
        )
    report.say(
        f"upstream calls during the run: {calls}; lazy rows in the overview's answers: "
        f"{overview.lazy_rows}"
    )
    report.check(
        "throughput",
        "overview req/s as a share of the trivial view's",
        percent,
        ">=",
        THROUGHPUT_TARGET_PERCENT,
        "%",
    )
    report.check("throughput", "errors", overview.errors + trivial.errors, "==", 0, "errors")
    report.record(
        "throughput",
        {
            "workers": 2,
            "threads": 8,
            "clients": o.load_concurrency,
            "duration_s": o.duration,
            "slices": slices,
            "warm_up_rounds": rounds,
            "overview": overview.summary(),
            "trivial": trivial.summary(),
            "trivial_path": TRIVIAL_PATH,
            "overview_percent_of_trivial": round(percent, 1),
            "upstream_calls": calls,
        },
    )


SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "cold": cold_overview,  # also warm_overview, self_refresh and load_more
    "review": review_after_expiry,
    "throughput": throughput,
    "scaling": scaling,  # last: it replaces the account's data
}
