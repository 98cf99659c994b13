"""`python -m serverless_emulator`: run the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .emulator import DEMO_ACCOUNT_SID, Emulator
from .seed import SEEDS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m serverless_emulator",
        description="Local emulator of Twilio's Serverless REST API v1.",
        epilog="Credentials: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (demo values when unset); "
        "TWILIO_API_KEY / TWILIO_API_SECRET register an API key.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (0 = any free port)")
    parser.add_argument("--seed", choices=SEEDS, default="demo", help="initial data (default demo)")
    parser.add_argument(
        "--state", metavar="PATH", help="JSON file to load state from and save it to"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay added to every API request"
    )
    parser.add_argument(
        "--build-seconds", type=float, default=10.0, help="how long a new build stays 'building'"
    )
    parser.add_argument("--max-concurrency", type=int, help="in-flight requests before 429")
    parser.add_argument(
        "--rate-limit-per-second", type=float, help="requests per second before 429"
    )
    parser.add_argument(
        "--no-retry-after",
        action="store_true",
        help="omit Retry-After on 429 (real Twilio does not promise it)",
    )
    parser.add_argument("--rng-seed", type=int, help="seed for the demo data's random choices")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    token_from_env = os.environ.get("TWILIO_AUTH_TOKEN")
    api_keys = {}
    if os.environ.get("TWILIO_API_KEY") and os.environ.get("TWILIO_API_SECRET"):
        api_keys[os.environ["TWILIO_API_KEY"]] = os.environ["TWILIO_API_SECRET"]
    emulator = Emulator(
        host=args.host,
        port=args.port,
        seed=args.seed,
        account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or DEMO_ACCOUNT_SID,
        auth_token=token_from_env,
        api_keys=api_keys,
        state_path=args.state,
        latency_ms=args.latency_ms,
        build_seconds=args.build_seconds,
        max_concurrency=args.max_concurrency,
        rate_limit_per_second=args.rate_limit_per_second,
        retry_after=not args.no_retry_after,
        rng_seed=args.rng_seed,
        verbose=args.verbose,
    ).start()

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print(f"Twilio Serverless emulator listening on {emulator.base_url}", flush=True)
    print(f"  Account SID: {emulator.account_sid}")
    if token_from_env:
        print("  Auth token:  from TWILIO_AUTH_TOKEN")
    else:
        print(f"  Auth token:  {emulator.auth_token} (demo default)")
    for key in api_keys:
        print(f"  API key:     {key} (secret from TWILIO_API_SECRET)")
    if args.state:
        origin = "loaded from" if emulator.loaded_state else f"seeded '{args.seed}', saved to"
        print(f"  State:       {origin} {args.state}")
    else:
        print(f"  State:       in memory, seed '{args.seed}'")
    print(f"  Control:     {emulator.base_url}/_emulator/ (faults, requests, reset)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        saved = f"; state saved to {args.state}" if args.state else ""
        print(f"Emulator stopped{saved}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
