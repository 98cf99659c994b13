"""The benchmark of issue 9: prints figures beside their floors and targets. `make bench`.

The emulator of Twilio Serverless runs in a process of its own (`python -m
serverless_emulator --state FILE --latency-ms RTT`, the account written to FILE first),
holds S services x E environments with N deployments each and adds `--latency-ms` (one
RTT) to every call; the dashboard runs as gunicorn in a subprocess against it. Sharing a
process (and a GIL) with the benchmark's client threads would serialise the fake
upstream's CPU with theirs, where a real Twilio does its work elsewhere. Scenarios:

- the emulator's list speed and the client's bounded pool (the first figures, kept; these
  two micro-scenarios use an in-process emulator, and say so);
- the cold overview (empty cache): first paint, then complete with every lazy row;
- the re-view after the short cache lifetime expired; the warm overview and its poll;
- the scaling curve over `--scaling` sizes; the history's "Load more", page by page;
- throughput of the overview beside a trivial view, gunicorn with 2 workers.

Each figure is absolute, a multiple of RTT and of its floor (issue 9, "The floor"), with
upstream calls from the emulator's request log; each target is PASS or FAIL. Everything
goes to `--json` with the machine's description. A benchmark, not a test: it exits 0
whatever the figures, and 1 only when a scenario could not run.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from bench_data import populate  # noqa: E402
from bench_http import EmulatorProcess, ServerFailed  # noqa: E402
from bench_report import Report, ceil_div, measure_ms, median  # noqa: E402
from bench_scenarios import SCENARIOS, Bench, Options  # noqa: E402

from serverless_emulator import Emulator  # noqa: E402

# --quick: a tiny account and short runs, for tests/test_bench.py and a first look.
QUICK = {
    "services": 2,
    "environments": 3,
    "deployments": 60,
    "latency_ms": 20,
    "concurrency": 10,
    "runs": 1,
    "warm_requests": 5,
    "short_lifetime": 1,
    "duration": 5.0,
    "scaling": "1,2",
}
FULL = {
    "services": 20,
    "environments": 3,
    "deployments": 300,
    "latency_ms": 50,
    "concurrency": 10,
    "runs": 3,
    "warm_requests": 20,
    "short_lifetime": 2,
    "duration": 30.0,
    "scaling": "5,10,20,40",
}
ALL = ("emulator", "pool", *SCENARIOS)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument

    def sizes(name: str) -> str:
        return f"(default {FULL[name]}; with --quick {QUICK[name]})"

    add("--quick", action="store_true", help="a tiny account and short runs, in seconds")
    add("--services", type=int, help=f"S, services in the account {sizes('services')}")
    add("--environments", type=int, help=f"per service {sizes('environments')}")
    add("--deployments", type=int, help=f"per environment {sizes('deployments')}")
    add("--latency-ms", type=int, help=f"added to every upstream call: RTT {sizes('latency_ms')}")
    add("--concurrency", type=int, help=f"C, TWILIO_MAX_CONCURRENCY {sizes('concurrency')}")
    add("--runs", type=int, help=f"cold runs per figure, the median shown {sizes('runs')}")
    add("--warm-requests", type=int, help=f"GET / of the warm overview {sizes('warm_requests')}")
    add(
        "--short-lifetime",
        type=int,
        help=f"DASHBOARD_LIVE_CACHE_SECONDS of the re-view {sizes('short_lifetime')}",
    )
    add("--page-size", type=int, default=25, help="the history's rows per page (default 25)")
    add("--duration", type=float, help=f"seconds of load per view {sizes('duration')}")
    add("--load-concurrency", type=int, default=8, help="throughput clients (default 8)")
    add("--scaling", help=f"service counts of the scaling curve {sizes('scaling')}")
    add("--redis", metavar="URL", help="a Redis database as the cache; it is FLUSHDB-ed")
    add("--json", type=Path, default=ROOT / "var" / "bench.json", help="default var/bench.json")
    add(
        "--only",
        help=f"comma-separated scenarios, of: {', '.join(ALL)} "
        "('cold' includes the warm overview, the self-refresh and Load more)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    try:
        args.scaling = tuple(int(n) for n in str(args.scaling).split(",") if n.strip())
    except ValueError:
        parser.error(f"--scaling must be comma-separated numbers, not {args.scaling!r}")
    args.only = tuple(n.strip() for n in args.only.split(",")) if args.only else ALL
    unknown = set(args.only) - set(ALL)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from {ALL}")
    for name in (
        "services",
        "environments",
        "deployments",
        "concurrency",
        "runs",
        "warm_requests",
        "short_lifetime",
        "page_size",
        "load_concurrency",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.latency_ms < 0 or args.duration <= 0 or not args.scaling:
        parser.error("--latency-ms must be 0 or more, --duration positive, --scaling not empty")
    if args.redis:
        args.redis = dedicated_database(args.redis)
    return args


def dedicated_database(url: str) -> str:
    """The Redis URL with a database number: the benchmark empties it, never db 0 by default."""
    parts = urlsplit(url)
    if parts.path.strip("/"):
        return url
    return urlunsplit(parts._replace(path="/15"))


# ------------------------------------------------------- the emulator and the client


def bench_emulator_list(report: Report, args: argparse.Namespace) -> None:
    """The emulator never the bottleneck: a PageSize=1000 list, and a history at bench size."""
    times = 5 if args.quick else 20
    with Emulator(seed="demo") as emu:
        store = emu.store
        service = store.service("sms-notifications")
        dev = store.environment_named(service.sid, "dev")
        builds = [b.sid for b in store.builds(service.sid) if b.status == "completed"]
        with store.batch():
            for n in range(1000):
                store.add_deployment_record(dev.sid, builds[n % 2], date_created=time.time() + n)
        url = f"{emu.base_url}/v1/Services/{service.sid}/Environments/{dev.sid}/Deployments"
        list_ms = median(measure_ms(_lister(emu, url, 1000), times))
    with Emulator(seed="empty") as emu:
        shape = populate(
            emu.store,
            services=args.services,
            environments=args.environments,
            deployments=args.deployments,
        )
        url = (
            f"{emu.base_url}/v1/Services/{shape.first_service_sid}"
            f"/Environments/{shape.first_environment_sid}/Deployments"
        )
        history_ms = median(measure_ms(_lister(emu, url, args.deployments), times))
    report.heading("Emulator: list speed (no added latency; an in-process emulator)")
    report.say(f"PageSize=1000 deployments list: {list_ms:.1f} ms (median of {times})")
    report.say(
        f"one history of {args.deployments} at the benchmark's size "
        f"({args.services} x {args.environments}): {history_ms:.1f} ms, client and emulator "
        "in this process, on top of the added latency of every call (the dashboard's "
        "scenarios run the emulator in a process of its own)"
    )
    report.record(
        "emulator_list",
        {
            "list_1000_ms": round(list_ms, 2),
            "bench_history_ms": round(history_ms, 2),
            "emulator": "in-process",
        },
    )


def _lister(emu: Emulator, url: str, expected: int) -> Callable[[], None]:
    session = requests.Session()
    session.auth = (emu.account_sid, emu.auth_token)
    session.get(url, params={"PageSize": 1}, timeout=5)  # warm the connection

    def one() -> None:
        body = session.get(url, params={"PageSize": 1000}, timeout=5).json()
        assert len(body["deployments"]) == expected

    return one


def bench_bounded_pool(report: Report, args: argparse.Namespace) -> None:
    """N independent reads through the client's pool cost about ceil(N/C) round trips."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ.setdefault("TWILIO_SERVERLESS_BASE_URL", "http://127.0.0.1:9")
    import django

    django.setup()
    from deployments_app.services.serverless import ServerlessClient
    from deployments_app.services.serverless_config import ClientConfig

    reads = 5 if args.quick else 25
    latency, c = args.latency_ms, args.concurrency
    times = 1 if args.quick else 3
    with Emulator(seed="demo", latency_ms=latency) as emu:
        client = ServerlessClient(
            ClientConfig(
                base_url=emu.base_url,
                account_sid=emu.account_sid,
                auth_token=emu.auth_token,
                max_concurrency=c,
            )
        )
        try:
            sid = client.service_list()[0].sid
            items = [sid] * reads

            def sequential() -> None:
                for item in items:
                    client.environment_list(service_sid=item)

            def pooled() -> None:
                client.read_many(lambda item: client.environment_list(service_sid=item), items)

            seq = median(measure_ms(sequential, times))
            pool = median(measure_ms(pooled, times))
        finally:
            client.close()
    rounds = ceil_div(reads, c)
    report.heading(
        f"Client: the bounded pool, {reads} reads at {latency} ms, C {c} (an in-process emulator)"
    )
    report.say(
        f"sequential {seq:.0f} ms, bounded pool {pool:.0f} ms ({seq / pool:.1f}x faster; "
        f"ceil({reads}/{c}) = {rounds} round trips = {rounds * latency} ms floor)"
    )
    report.record(
        "bounded_pool",
        {
            "reads": reads,
            "sequential_ms": round(seq, 2),
            "pooled_ms": round(pool, 2),
            "speedup": round(seq / pool, 2),
            "floor_ms": rounds * latency,
            "x_floor": round(pool / (rounds * latency), 3) if latency else None,
            "emulator": "in-process",
        },
    )


# ----------------------------------------------------------------------------- main


def run(args: argparse.Namespace, report: Report, workdir: Path) -> None:
    def attempt(name: str, step: Callable[[], None]) -> None:
        if name not in args.only:
            return
        try:
            step()
        except Exception as exc:  # one broken scenario must not hide the others
            if not isinstance(exc, ServerFailed | requests.RequestException):
                traceback.print_exc()  # a bug here, not a server that failed
            report.fail(name, exc)

    attempt("emulator", lambda: bench_emulator_list(report, args))
    attempt("pool", lambda: bench_bounded_pool(report, args))
    dashboard = [name for name in SCENARIOS if name in args.only]
    if not dashboard:
        return
    options = Options(
        services=args.services,
        environments=args.environments,
        deployments=args.deployments,
        latency_ms=args.latency_ms,
        concurrency=args.concurrency,
        runs=args.runs,
        warm_requests=args.warm_requests,
        short_lifetime=args.short_lifetime,
        page_size=args.page_size,
        duration=args.duration,
        load_concurrency=args.load_concurrency,
        scaling=args.scaling,
        redis_url=args.redis,
    )
    # A state file per account and a temp dir per run (workdir): the emulator writes its
    # state back to its own file as it stops, and nothing else ever reads that copy.
    emu = EmulatorProcess(workdir / "emulator", latency_ms=args.latency_ms)
    try:
        try:
            shape = emu.load(
                services=args.services,
                environments=args.environments,
                deployments=args.deployments,
            )
        except Exception as exc:  # no emulator, no dashboard scenario
            if not isinstance(exc, ServerFailed | requests.RequestException):
                traceback.print_exc()
            for name in dashboard:
                report.fail(name, exc)
            return
        print(
            f"Emulator process (pid {emu.pid}) at {emu.base_url}: state file of "
            f"{emu.state_bytes / 1e6:.1f} MB written in {emu.build_seconds:.1f} s, "
            f"loaded and answering in {emu.start_seconds:.1f} s",
            flush=True,
        )
        report.record(
            "account",
            asdict(shape)
            | {
                "calls_needed": shape.calls_needed(),
                "state_file_bytes": emu.state_bytes,
                "state_file_seconds": round(emu.build_seconds, 2),
                "emulator_start_seconds": round(emu.start_seconds, 2),
            },
        )
        bench = Bench(emu=emu, shape=shape, options=options, report=report, workdir=workdir)
        for name in dashboard:
            attempt(name, functools.partial(SCENARIOS[name], bench))
    finally:
        emu.stop()
        if emu.stragglers:
            print(f"(the emulator was killed {emu.stragglers} time(s): no exit after SIGTERM)")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # As Ctrl-C does: the `finally` blocks stop the emulator and every gunicorn of the run.
    raise SystemExit(128 + signum)


EMULATOR_PROCESS = {
    "process": "separate",
    "command": "python -m serverless_emulator --host 127.0.0.1 --port PORT --state FILE "
    "--seed empty --latency-ms RTT",
    "request_log": "GET /_emulator/requests, outside timed sections",
    "in_process_scenarios": ["emulator_list", "bounded_pool"],
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)  # the terminal closed
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report = Report(options=options)
    report.started["emulator"] = EMULATOR_PROCESS | {"latency_ms": args.latency_ms}
    cache = f"Redis {args.redis}" if args.redis else "local memory, per process"
    print(
        f"Benchmark: {args.services} services x {args.environments} environments, "
        f"{args.deployments} deployments each, RTT {args.latency_ms} ms, "
        f"C {args.concurrency}; cache: {cache}\n"
        f"Emulator: in a process of its own (python -m serverless_emulator --state FILE "
        f"--latency-ms {args.latency_ms}), not the benchmark's; the two micro-scenarios "
        "(emulator list speed, bounded pool) use an in-process one",
        flush=True,
    )
    load, cpus = report.started["load_average"], os.cpu_count() or 1
    if load and load[0] > cpus:
        print(f"(a busy machine: load average {load[0]:.1f} on {cpus} CPUs; expect noise)")
    started = time.perf_counter()
    interrupted = False
    try:
        with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
            run(args, report, Path(tmp))
    except KeyboardInterrupt:
        # The `finally` blocks of run() have stopped the emulator and gunicorn by now.
        interrupted = True
        report.errors["run"] = "interrupted (Ctrl-C)"
    finally:
        # The file first: it must exist even when printing fails (a closed pipe).
        report.record("run", {"seconds": round(time.perf_counter() - started, 1)})
        report.write(args.json)
        report.summary()
        print(f"\nResults written to {args.json}", flush=True)
    if interrupted:
        return 130
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
