"""The benchmark's account: S services x E environments with N deployments each.

Built straight into an emulator store (no HTTP, no request log), shaped like the demo
seed at a larger size: dev, stage and production in that order, stage and production one
and two builds behind dev, a newest build still building in some services, an older failed
build in others, and the last environment of every fifth service never deployed to.
`write_state` saves it as the state file that `python -m serverless_emulator --state`
loads, for the benchmark's emulator in a process of its own.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

from serverless_emulator import Store
from serverless_emulator.store import FUNCTIONS

DAY = 24 * 3600.0
ENVIRONMENT_NAMES = ("dev", "stage", "production")
COMPLETED_BUILDS = 12
# A history longer than this takes more than one list call (PageSize's maximum).
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Shape:
    """What the account holds, in the terms the floors are written in."""

    services: int
    environments: int  # per service
    deployments: int  # per environment that has any
    live_environments: int  # L: environments with a live build
    live_services: int  # S_live: services with at least one live build
    first_service_sid: str
    first_environment_sid: str  # the first service's dev: the longest history

    @property
    def all_environments(self) -> int:
        return self.services * self.environments

    def calls_needed(self) -> int:
        """Upstream reads a complete overview needs: services, environments, histories, builds."""
        services = math.ceil(self.services / MAX_PAGE_SIZE)
        histories = self.live_environments * max(1, math.ceil(self.deployments / MAX_PAGE_SIZE))
        return services + self.services + histories + self.live_services


def environment_names(count: int) -> list[str]:
    extra = [f"env-{n}" for n in range(len(ENVIRONMENT_NAMES) + 1, count + 1)]
    return [*ENVIRONMENT_NAMES[:count], *extra]


def left_empty(service_index: int, environments: int) -> bool:
    """Whether this service's last environment has nothing deployed (every fifth service)."""
    return environments > 1 and service_index % 5 == 1


def populate(
    store: Store, *, services: int, environments: int, deployments: int, rng_seed: int = 9
) -> Shape:
    """Replace the store's contents with the benchmark account; returns its shape."""
    if services < 1 or environments < 1 or deployments < 1:
        raise ValueError("services, environments and deployments must be at least 1")
    rng = random.Random(rng_seed)
    now = float(int(time.time()))
    start = now - 90 * DAY
    names = environment_names(environments)
    live_environments = 0
    first_service = first_environment = ""
    with store.batch():
        store.reset("empty")
        for s in range(services):
            unique_name = f"bench-service-{s + 1:02d}"
            service = store.create_service(
                unique_name=unique_name,
                friendly_name=f"Bench service {s + 1}",
                domain_base=f"{unique_name}-{rng.randint(1000, 9999)}",
                date_created=start,
            )
            envs = [
                store.create_environment(
                    service.sid,
                    unique_name=name,
                    domain_suffix=None if name == "production" else name,
                    date_created=start + 60 * (i + 1),
                )
                for i, name in enumerate(names)
            ]
            completed = _builds(store, service.sid, s, start, now)
            for e, env in enumerate(envs):
                if e == len(envs) - 1 and left_empty(s, environments):
                    continue
                _history(store, env.sid, completed, lag=e, count=deployments, start=start, now=now)
                live_environments += 1
            if s == 0:
                first_service, first_environment = service.sid, envs[0].sid
    return Shape(
        services=services,
        environments=environments,
        deployments=deployments,
        live_environments=live_environments,
        live_services=services,  # every service has dev deployed
        first_service_sid=first_service,
        first_environment_sid=first_environment,
    )


def write_state(
    path: Path, *, account_sid: str, services: int, environments: int, deployments: int
) -> tuple[Shape, dict[str, int]]:
    """The benchmark account as an emulator state file at `path` (replaced if it exists).

    Returns its shape and its record counts (what `GET /_emulator/health` must report once
    an emulator has loaded the file). `account_sid` must be the emulator's own.
    """
    store = Store(account_sid=account_sid)  # no state path yet: populating saves nothing
    shape = populate(store, services=services, environments=environments, deployments=deployments)
    store.state_path = path
    store.save()  # the snapshot, written atomically (a temp file, then a rename)
    return shape, store.counts()


def _builds(store: Store, service_sid: str, index: int, start: float, now: float) -> list[str]:
    """Completed builds oldest first (plus a failed one, and a building one in some services)."""
    functions = [
        store.create_resource(FUNCTIONS, service_sid, friendly_name=name, date_created=start)
        for name in ("incoming", "status-callback", "helpers")
    ]
    versions: dict[str, str] = {}
    completed: list[str] = []
    total = COMPLETED_BUILDS + 2
    for n in range(total):
        at = start + DAY + n * (80 * DAY / total)
        for function in functions if n == 0 else [functions[n % len(functions)]]:
            versions[function.sid] = store.create_function_version(
                function.sid,
                path=f"/{function.friendly_name}",
                visibility="protected",
                content=f"// revision {n}\nexports.handler = (c, e, cb) => cb(null, {n});\n",
                date_created=at - 600,
            ).sid
        if n == total - 1:
            status = "building" if index % 3 == 0 else "failed"
        elif n == total // 2:
            status = "failed"
        else:
            status = "completed"
        build = store.create_build(
            service_sid,
            function_versions=list(versions.values()),
            dependencies=[{"name": "twilio", "version": f"5.{n % 4}.0"}],
            runtime="node22",
            status=status,
            date_created=at,
        )
        if status == "completed":
            completed.append(build.sid)
    return completed


def _history(
    store: Store,
    environment_sid: str,
    completed: list[str],
    *,
    lag: int,
    count: int,
    start: float,
    now: float,
) -> None:
    """`count` deployments, oldest first, never the same build twice in a row.

    They cycle through the builds up to the environment's live one, which is `lag` builds
    behind the newest (dev is current, stage one behind, production two).
    """
    eligible = completed[: max(2, len(completed) - lag)]
    m = len(eligible)
    offset = (m - count) % m  # so that the last deployment is of the newest eligible build
    first = start + 2 * DAY + lag * 3600
    step = (now - 3600 - first) / count
    for i in range(count):
        store.add_deployment_record(
            environment_sid, eligible[(i + offset) % m], date_created=float(int(first + i * step))
        )
