"""Benchmarks: prints figures, asserts nothing. Run with `make bench`.

1. The emulator answers a PageSize=1000 list fast enough never to be a benchmark's bottleneck.
2. The client's bounded pool: N independent reads cost about ceil(N/10) round trips.
Figures are medians of a few runs on this machine; compare the ratios, not the absolutes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("TWILIO_SERVERLESS_BASE_URL", "http://127.0.0.1:9")

import django

django.setup()

import requests  # noqa: E402

from deployments_app.services.serverless import ServerlessClient  # noqa: E402
from deployments_app.services.serverless_config import ClientConfig  # noqa: E402
from serverless_emulator import Emulator  # noqa: E402


def median_ms(run, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_emulator_list() -> None:
    with Emulator(seed="demo") as emu:
        store = emu.store
        service = store.service("sms-notifications")
        dev = store.environment_named(service.sid, "dev")
        builds = [b.sid for b in store.builds(service.sid) if b.status == "completed"]
        with store.batch():
            for n in range(1000):
                store.add_deployment_record(dev.sid, builds[n % 2], date_created=time.time() + n)
        url = f"{emu.base_url}/v1/Services/{service.sid}/Environments/{dev.sid}/Deployments"
        session = requests.Session()
        session.auth = (emu.account_sid, emu.auth_token)
        session.get(url, params={"PageSize": 1}, timeout=5)  # warm the connection

        def one() -> None:
            body = session.get(url, params={"PageSize": 1000}, timeout=5).json()
            assert len(body["deployments"]) == 1000

        print(
            f"emulator: PageSize=1000 deployments list: {median_ms(one, 20):.1f} ms (median of 20)"
        )


def bench_bounded_pool(reads: int = 25, latency_ms: int = 100) -> None:
    with Emulator(seed="demo", latency_ms=latency_ms) as emu:
        client = ServerlessClient(
            ClientConfig(
                base_url=emu.base_url,
                account_sid=emu.account_sid,
                auth_token=emu.auth_token,
                max_concurrency=10,
            )
        )
        sid = client.service_list()[0].sid
        items = [sid] * reads

        def sequential() -> None:
            for item in items:
                client.environment_list(service_sid=item)

        def pooled() -> None:
            client.read_many(lambda item: client.environment_list(service_sid=item), items)

        seq = median_ms(sequential, 3)
        pool = median_ms(pooled, 3)
        rounds = -(-reads // 10)
        print(
            f"client: {reads} reads at {latency_ms} ms latency: sequential {seq:.0f} ms, "
            f"bounded pool {pool:.0f} ms ({seq / pool:.1f}x faster; "
            f"ceil({reads}/10) = {rounds} round trips = {rounds * latency_ms} ms floor)"
        )
        client.close()


if __name__ == "__main__":
    bench_emulator_list()
    bench_bounded_pool()
