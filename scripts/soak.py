"""A bounded soak of production's stack: mixed reads and actions, the audit checked. `make soak`.

The stack is production's, on loopback: gunicorn (2+ workers x threads) on a PostgreSQL
database created for this run (`soak_<pid>_<hex>`, dropped afterwards), a Redis database
of its own (FLUSHDB-ed first and last), and the emulator of Twilio Serverless in a process
of its own (scripts/bench_http.py's EmulatorProcess: S services x E environments with a
history of N deployments each, RTT added to every call). Several release managers sign
in; a bounded load generator (a fixed number of closed-loop clients, for `--duration`
seconds) mixes the pages people read (the overview and its rows, environment pages and
their history's "Load more", build pages, the audit log) with the actions they take
(promote, redeploy, clear, restore: POSTs with CSRF, as htmx sends them).

Printed, and written to `--json` (var/soak.json): requests, requests/s, p50/p95/p99 per
kind, the answers' statuses; and the checks: no 5xx and no failed connection; every action
answered clearly (a message, never a bare error page); every attempted action audited;
the deployments Twilio made (POST .../Deployments answered 2xx, from the emulator's
request log) exactly the audit's succeeded entries, SID for SID; nothing left pending.
Exits 1 when a check fails or the stack could not run.

`Stack` is also the harness of tests/test_concurrent_promotions.py and
tests/test_killed_worker.py.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from bench_http import (  # noqa: E402
    PASSWORD,
    TIMEOUT,
    USERNAME,
    Browser,
    DashboardServer,
    EmulatorProcess,
    ServerFailed,
    lazy_rows,
    load_more_url,
)
from bench_report import Report, percentile  # noqa: E402
from bench_scenarios import LOAD_MORE_HEADERS  # noqa: E402
from psycopg import sql  # noqa: E402

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"  # the server of `make prod`
# A database of its own: make test takes 2 and up (one per xdist worker), the page-cache
# test 14, the benchmark 15; tests/test_soak.py 10, test_killed_worker 11,
# test_concurrent_promotions 12.
REDIS_URL = "redis://127.0.0.1:6379/13"
# Release managers besides the demo's `release`, created in the run's database.
MANAGER_PASSWORD = "soak-release"  # noqa: S105 (a throwaway database's test users)
DEPLOYMENT_ACTIONS = ("promote", "redeploy", "restore", "clear")
_DEPLOYMENTS_POST = re.compile(r"^/v1/Services/ZS\w{32}/Environments/ZE\w{32}/Deployments$")
_MESSAGE = re.compile(r'<p class="alert alert--(\w+)" role="(?:alert|status)">(.*?)</p>', re.S)
# An ERROR or CRITICAL record (text or JSON logs, or gunicorn's "[ERROR]"), a traceback.
_LOGGED_ERROR = re.compile(r'\b(ERROR|CRITICAL)\b|"level": "(ERROR|CRITICAL)"|^Traceback')
_SID = re.compile(r"\b[A-Z]{2}[0-9a-f]{32}\b")

# The database made ready in one process (Django starts once, not three times): migrated,
# the demo users, and a user with the release-manager role for each extra name.
_SETUP = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from deployments_app import roles
call_command("migrate", interactive=False, verbosity=0)
call_command("seed_demo_users", verbosity=0)
group = Group.objects.get(name=roles.RELEASE_MANAGER)
for name in {names!r}:
    user, _ = get_user_model().objects.get_or_create(username=name)
    user.set_password({password!r})
    user.save()
    user.groups.set([group])
"""


# ------------------------------------------------------------------ the services


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`; dropped afterwards."""
    with psycopg.connect(server_url, dbname="postgres", autocommit=True, connect_timeout=3) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(
            server_url, dbname="postgres", autocommit=True, connect_timeout=3
        ) as c:
            # FORCE: gunicorn's persistent connections may not have closed yet.
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def services_unreachable(postgres_url: str, redis_url: str) -> str | None:
    """Why PostgreSQL or Redis cannot be used, or None when both answer within 3 s."""
    try:
        psycopg.connect(postgres_url, dbname="postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL at {postgres_url} ({type(exc).__name__})"
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"no Redis at {redis_url} ({type(exc).__name__})"
    finally:
        client.close()
    return None


# ------------------------------------------------------------------ the account


@dataclass(frozen=True)
class Env:
    sid: str
    name: str
    builds_ran: tuple[str, ...]  # in its history when the run began


@dataclass(frozen=True)
class Service:
    sid: str
    environments: tuple[Env, ...]  # in pipeline order: dev, stage, production
    completed_builds: tuple[str, ...]


def read_account(emu: EmulatorProcess) -> list[Service]:
    """The account as the emulator's v1 API lists it (outside any timed section)."""
    with requests.Session() as session:
        session.auth = (emu.account_sid, emu.auth_token)

        def items(path: str, key: str) -> list[dict[str, Any]]:
            answer = session.get(
                f"{emu.base_url}/v1/{path}", params={"PageSize": 1000}, timeout=TIMEOUT
            )
            answer.raise_for_status()
            return list(answer.json()[key])

        found = []
        for service in items("Services", "services"):
            sid = service["sid"]
            envs = [
                Env(
                    sid=env["sid"],
                    name=env["unique_name"],
                    builds_ran=tuple(
                        sorted(
                            {
                                d["build_sid"]
                                for d in items(
                                    f"Services/{sid}/Environments/{env['sid']}/Deployments",
                                    "deployments",
                                )
                                if d.get("build_sid")
                            }
                        )
                    ),
                )
                for env in items(f"Services/{sid}/Environments", "environments")
            ]
            builds = items(f"Services/{sid}/Builds", "builds")
            completed = tuple(b["sid"] for b in builds if b["status"] == "completed")
            found.append(Service(sid=sid, environments=tuple(envs), completed_builds=completed))
    return found


# --------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class AuditSummary:
    by_outcome: Counter[str]  # deployment actions' entries, by outcome
    actions: int  # entries of deployment actions (every attempt has one)
    succeeded_sids: tuple[str, ...]  # deployment SIDs of the succeeded ones
    external: int  # changes recorded as made outside the dashboard


class _Server(DashboardServer):
    """gunicorn on the run's PostgreSQL database, prepared by one `manage.py shell -c`."""

    def __init__(self, *args: Any, managers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.managers = list(managers)
        self._ready = False

    def prepare_database(self) -> None:
        if not self._ready:
            self.manage(
                "shell", "-c", _SETUP.format(names=self.managers, password=MANAGER_PASSWORD)
            )
            self._ready = True


class Stack:
    """PostgreSQL, Redis, the emulator and gunicorn for one run; everything undone on exit.

    `start()` flushes the Redis database, creates the PostgreSQL database, loads the
    account into an emulator process, migrates and starts gunicorn, and creates the
    release managers (`release` plus `release-2`, ...). `close()` stops both servers,
    drops the database and flushes Redis, also after a failed start.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        postgres_url: str = POSTGRES_URL,
        redis_url: str = REDIS_URL,
        workers: int = 2,
        threads: int = 8,
        latency_ms: int = 20,
        managers: int = 3,
        services: int = 3,
        environments: int = 3,
        deployments: int = 60,
        concurrency: int = 10,
        prefix: str = "soak",
    ) -> None:
        if workers < 2:
            raise ValueError("production's stack runs 2 or more gunicorn workers")
        self.workdir = workdir
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.workers = workers
        self.threads = threads
        self.latency_ms = latency_ms
        self.usernames = [USERNAME] + [f"release-{n}" for n in range(2, managers + 1)]
        self.size = {"services": services, "environments": environments}
        self.size["deployments"] = deployments
        self.concurrency = concurrency
        self.database_name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        self.database_url = ""
        self.account: list[Service] = []
        self._exit = ExitStack()
        self._db: psycopg.Connection[Any] | None = None
        self.emu = EmulatorProcess(workdir / "emulator", latency_ms=latency_ms)
        self.server: _Server | None = None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.redis = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        self.redis.flushdb()
        self._exit.callback(self.redis.close)
        self._exit.callback(self.redis.flushdb)
        self.database_url = self._exit.enter_context(
            scratch_database(self.postgres_url, self.database_name)
        )
        self._exit.callback(self._close_db)
        self._exit.callback(self.emu.stop)
        self.emu.load(**self.size)
        self.server = _Server(
            self.emu.upstream(self.concurrency),
            self.workdir,
            workers=self.workers,
            threads=self.threads,
            redis_url=self.redis_url,
            database_url=self.database_url,
            # As `make prod` runs: persistent connections (with health checks).
            extra_env={"DATABASE_CONN_MAX_AGE": "60"},
            access_log=False,
            managers=self.usernames[1:],
        )
        self._exit.callback(self.server.stop)
        self.server.start()
        self.account = read_account(self.emu)
        self.emu.clear_calls()

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dashboard(self) -> DashboardServer:
        if self.server is None:
            raise RuntimeError("start() the stack first")
        return self.server

    @property
    def base_url(self) -> str:
        return self.dashboard.base_url

    # ------------------------------------------------------------- the users

    def sign_in(self, username: str) -> dict[str, str]:
        """A signed-in session's cookies (sessionid and csrftoken)."""
        password = PASSWORD if username == USERNAME else MANAGER_PASSWORD
        with Browser(self.base_url) as browser:
            browser.login(username, password)
            return browser.cookies()

    # ------------------------------------------------------------ the database

    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self._db is None:
            self._db = psycopg.connect(self.database_url, autocommit=True, connect_timeout=3)
        return self._db.execute(text, params).fetchall()

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def audit(self) -> AuditSummary:
        rows = self.query(
            "SELECT action, outcome, deployment_sid FROM deployments_app_auditentry ORDER BY id"
        )
        actions = [r for r in rows if r[0] in DEPLOYMENT_ACTIONS]
        return AuditSummary(
            by_outcome=Counter(r[1] for r in actions),
            actions=len(actions),
            succeeded_sids=tuple(r[2] for r in actions if r[1] == "succeeded"),
            external=sum(r[0] == "external" for r in rows),
        )

    # ------------------------------------------------------------ the upstream

    def deployment_posts(self) -> list[dict[str, Any]]:
        """Every POST .../Deployments the emulator answered since start(), bodies and all."""
        answer = requests.get(f"{self.emu.base_url}/_emulator/requests", timeout=TIMEOUT)
        answer.raise_for_status()
        return [
            item
            for item in answer.json()["requests"]
            if item["method"] == "POST" and _DEPLOYMENTS_POST.match(item["path"])
        ]

    def fault(self, **spec: object) -> None:
        """An emulator fault (serverless_emulator/faults.py's Fault fields)."""
        answer = requests.post(f"{self.emu.base_url}/_emulator/faults", json=spec, timeout=5)
        answer.raise_for_status()

    def live_build(self, service_sid: str, environment_sid: str) -> str | None:
        answer = requests.get(
            f"{self.emu.base_url}/v1/Services/{service_sid}/Environments/{environment_sid}",
            auth=(self.emu.account_sid, self.emu.auth_token),
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        build: str | None = answer.json().get("build_sid")
        return build

    # ----------------------------------------------------------- gunicorn's workers

    def worker_pids(self) -> set[int]:
        """The gunicorn master's children, from /proc (no psutil)."""
        master = self.dashboard.pid
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 1 and int(fields[1]) == master and fields[0] != "Z":
                found.add(int(entry.name))
        return found

    def worker_of(self, client_port: int) -> int | None:
        """The worker holding the connection that `client_port` opened, from /proc.

        The connection's socket (its inode, in /proc/net/tcp) is among the worker's open
        files once the worker has accepted it.
        """
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], parts[9]
                ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
                if ports == (self.dashboard.port, client_port):
                    inodes.add(f"socket:[{inode}]")
        for pid in self.worker_pids():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with suppress(OSError):
                        if os.readlink(fd) in inodes:
                            return pid
            except OSError:
                continue
        return None


class Connection:
    """One keep-alive HTTP connection to gunicorn as a signed-in user.

    Its local port names it in /proc/net/tcp, so `Stack.worker_of(connection.port)` tells
    which gunicorn worker serves it.
    """

    def __init__(self, base_url: str, cookies: dict[str, str], *, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.http = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        self.http.connect()
        assert self.http.sock is not None
        self.port: int = self.http.sock.getsockname()[1]
        self.cookies = cookies

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.http.request(method, path, body, {"Cookie": cookie} | (headers or {}))
        answer = self.http.getresponse()
        return answer.status, answer.read().decode(errors="replace")

    def post_action(self, action: str, data: dict[str, str]) -> tuple[int, str]:
        """As post_action() sends it: the form with CSRF, and htmx's headers."""
        token = self.cookies["csrftoken"]
        return self.request(
            "POST",
            f"/actions/{action}/",
            urlencode(data | {"csrfmiddlewaretoken": token}),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": token,
                "HX-Request": "true",
            },
        )

    def close(self) -> None:
        self.http.close()


def deployed_sids(posts: Sequence[dict[str, Any]]) -> list[str]:
    """The SIDs of the deployments the emulator made: the POSTs it answered 2xx."""
    sids = []
    for item in posts:
        if 200 <= item["status"] < 300:
            sids.append(json.loads(item["response_body"])["sid"])
    return sids


def action_message(body: str) -> tuple[str, str] | None:
    """The level ("ok", "info", "error") and text of an action's answer, if it has one."""
    found = _MESSAGE.search(body)
    if found is None:
        return None
    return found[1], " ".join(found[2].split())


def post_action(
    session: requests.Session, base_url: str, action: str, data: dict[str, str], *, csrf: str
) -> requests.Response:
    """An action's POST as htmx sends it: the form, the CSRF token in a header, HX-Request."""
    token = csrf
    return session.post(
        f"{base_url}/actions/{action}/",
        data=data | {"csrfmiddlewaretoken": token},
        headers={"HX-Request": "true", "X-CSRFToken": token, "HX-Current-URL": f"{base_url}/"},
        timeout=TIMEOUT,
        allow_redirects=False,
    )


# -------------------------------------------------------------------- the load


@dataclass
class Kind:
    """The answers to one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # "200", "409", "error"
    # Actions only: how they were answered ("changed", "noop", "refused", "unclear").
    results: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)  # refusals, SIDs masked

    def summary(self, seconds: float) -> dict[str, Any]:
        n = len(self.latencies_ms)
        return {
            "requests": n,
            "per_second": round(n / seconds, 2) if seconds else 0.0,
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p95_ms": round(percentile(self.latencies_ms, 95), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "statuses": dict(sorted(self.statuses.items())),
        } | ({"results": dict(self.results)} if self.results else {})


class Tally:
    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def add(self, name: str, ms: float, status: int | None, result: str = "") -> Kind:
        with self._lock:
            kind = self.kinds.setdefault(name, Kind())
            kind.latencies_ms.append(ms)
            kind.statuses[str(status) if status is not None else "error"] += 1
            if result:
                kind.results[result] += 1
            return kind

    def note(self, kind: Kind, message: str) -> None:
        with self._lock:
            kind.messages[_SID.sub("…", message)[:160]] += 1

    def error(self, text: str) -> None:
        with self._lock:
            if len(self.errors) < 50:
                self.errors.append(text)

    @property
    def requests(self) -> int:
        return sum(len(k.latencies_ms) for k in self.kinds.values())

    def count(self, predicate: Callable[[str], bool]) -> int:
        return sum(n for k in self.kinds.values() for s, n in k.statuses.items() if predicate(s))


class Cleared:
    """Environments emptied by a clear, oldest first, shared by the clients."""

    def __init__(self) -> None:
        self._items: list[tuple[Service, Env]] = []
        self._lock = threading.Lock()

    def put(self, item: tuple[Service, Env]) -> None:
        with self._lock:
            self._items.append(item)

    def take(self) -> tuple[Service, Env] | None:
        with self._lock:
            return self._items.pop(0) if self._items else None


# What one client does next, and how often (relative weights).
MIX: dict[str, float] = {
    "overview": 3,
    "environment": 3,
    "load more": 2,
    "build": 2,
    "audit": 1,
    "promote": 1,
    "redeploy": 0.6,
    "clear": 0.15,
    "restore": 0.2,
}


class Client:
    """One closed-loop client: a release manager's session doing what MIX says, until the end."""

    def __init__(
        self,
        stack: Stack,
        cookies: dict[str, str],
        tally: Tally,
        rng: random.Random,
        actor: str,
        cleared: Cleared,
    ) -> None:
        self.stack = stack
        self.base = stack.base_url
        self.tally = tally
        self.rng = rng
        self.actor = actor
        self.session = requests.Session()
        self.session.cookies.update(cookies)
        # The sign-in's token: Django rotates it only when a user signs in.
        self.csrf = cookies["csrftoken"]
        # Environments this client's clears emptied; any client may restore them.
        self.cleared = cleared
        self.actions = 0

    def run(self, deadline: float, stop: threading.Event) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        try:
            while time.monotonic() < deadline and not stop.is_set():
                kind = self.rng.choices(kinds, weights)[0]
                getattr(self, "do_" + kind.replace(" ", "_"))()
        finally:
            self.session.close()

    # --------------------------------------------------------------- requests

    def get(self, kind: str, path: str, headers: dict[str, str] | None = None) -> str:
        started = time.perf_counter()
        try:
            answer = self.session.get(
                path if path.startswith("http") else f"{self.base}{path}",
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self.tally.add(kind, (time.perf_counter() - started) * 1000, None)
            self.tally.error(f"GET {path}: {exc!r}")
            return ""
        self.tally.add(kind, (time.perf_counter() - started) * 1000, answer.status_code)
        if answer.status_code != 200:
            self.tally.error(f"GET {path}: HTTP {answer.status_code}")
        return answer.text

    def page(self, kind: str, path: str) -> str:
        """The page, then the rows htmx loads into it (two levels down)."""
        html = self.get(kind, path)
        pending = lazy_rows(html)
        for _ in range(2):
            found: list[str] = []
            for url in pending:
                found += lazy_rows(self.get(f"{kind} row", url, {"HX-Request": "true"}))
            pending = found
        return html

    def act(self, action: str, data: dict[str, str]) -> str:
        """POST the action; classify its answer. Returns the level ("ok" when it deployed)."""
        self.actions += 1
        data = data | {"reason": f"soak: {action} by {self.actor}"}
        started = time.perf_counter()
        try:
            answer = post_action(self.session, self.base, action, data, csrf=self.csrf)
        except requests.RequestException as exc:
            self.tally.add(action, (time.perf_counter() - started) * 1000, None)
            self.tally.error(f"POST {action}: {exc!r}")
            return ""
        ms = (time.perf_counter() - started) * 1000
        found = action_message(answer.text)
        status = answer.status_code
        if status == 200 and found and found[0] in ("ok", "info"):
            result = "changed" if found[0] == "ok" else "noop"
        elif 400 <= status < 500 and found and found[0] == "error":
            result = "refused"
        else:
            result = "unclear"
            self.tally.error(f"POST {action}: HTTP {status}, {answer.text[:300]!r}")
        kind = self.tally.add(action, ms, status, result)
        if result == "refused" and found:
            self.tally.note(kind, found[1])
        return found[0] if found else ""

    # ------------------------------------------------------------------ reads

    def _service(self) -> Service:
        return self.rng.choice(self.stack.account)

    def _env_path(self, service: Service, env: Env) -> str:
        return f"/services/{service.sid}/environments/{env.sid}/"

    def do_overview(self) -> None:
        self.page("overview", "/")

    def do_environment(self) -> None:
        service = self._service()
        self.page("environment", self._env_path(service, self.rng.choice(service.environments)))

    def do_load_more(self) -> None:
        service = self._service()
        html = self.get(
            "environment", self._env_path(service, self.rng.choice(service.environments))
        )
        url = load_more_url(html)
        for _ in range(self.rng.randint(1, 3)):
            if not url:
                break
            url = load_more_url(
                self.get("load more", url, {"HX-Request": "true"} | LOAD_MORE_HEADERS)
            )

    def do_build(self) -> None:
        service = self._service()
        build = self.rng.choice(service.completed_builds)
        self.page("build", f"/services/{service.sid}/builds/{build}/")

    def do_audit(self) -> None:
        self.get("audit", "/audit/")

    # ---------------------------------------------------------------- actions

    def do_promote(self) -> None:
        service = self._service()
        n = self.rng.randrange(len(service.environments) - 1)
        source, target = service.environments[n], service.environments[n + 1]
        self.act("promote", {"service": service.sid, "source": source.sid, "target": target.sid})

    def do_redeploy(self) -> None:
        service = self._service()
        env = self.rng.choice(service.environments)
        build = self.rng.choice(env.builds_ran or service.completed_builds)
        self.act("redeploy", {"service": service.sid, "environment": env.sid, "build": build})

    def do_clear(self) -> None:
        service = self._service()
        env = self.rng.choice(service.environments)
        data = {"service": service.sid, "environment": env.sid, "confirmation": env.name}
        if self.act("clear", data) == "ok":
            self.cleared.put((service, env))

    def do_restore(self) -> None:
        found = self.cleared.take()
        if found is None:  # nothing cleared: a refusal, as a person would get
            service = self._service()
            found = service, self.rng.choice(service.environments)
        service, env = found
        self.act("restore", {"service": service.sid, "environment": env.sid})


@dataclass
class SoakResult:
    seconds: float
    tally: Tally
    actions_sent: int


def soak(stack: Stack, *, duration: float, clients: int, seed: int) -> SoakResult:
    """`clients` closed-loop clients over the stack's release managers, for `duration` s."""
    cookies = {name: stack.sign_in(name) for name in stack.usernames}
    tally = Tally()
    rng = random.Random(seed)
    cleared = Cleared()
    crowd = [
        Client(
            stack,
            cookies[name := stack.usernames[n % len(stack.usernames)]],
            tally,
            random.Random(rng.random()),
            name,
            cleared,
        )
        for n in range(clients)
    ]
    stack.emu.clear_calls()  # sign-in reads nothing upstream; the setup's reads are gone
    started = time.monotonic()
    deadline = started + duration
    stop = threading.Event()
    with ThreadPoolExecutor(clients, thread_name_prefix="soak") as pool:
        try:
            for done in [pool.submit(client.run, deadline, stop) for client in crowd]:
                done.result()
        finally:
            # Ctrl-C, SIGTERM or a client's bug: the others stop after their request.
            stop.set()
    seconds = time.monotonic() - started
    return SoakResult(seconds=seconds, tally=tally, actions_sent=sum(c.actions for c in crowd))


# ------------------------------------------------------------------- the report


def logged_errors(log: str) -> list[str]:
    """The lines of gunicorn's output (its own, and the dashboard's log) that report errors."""
    return [line[:300] for line in log.splitlines() if _LOGGED_ERROR.search(line)]


def report_soak(report: Report, stack: Stack, result: SoakResult, args: argparse.Namespace) -> None:
    tally, seconds = result.tally, result.seconds
    report.heading(
        f"Soak: {seconds:.0f} s, {args.clients} clients as {len(stack.usernames)} release "
        f"managers; gunicorn {stack.workers} workers x {stack.threads} threads, PostgreSQL "
        f"database {stack.database_name}, Redis {stack.redis_url}, RTT {stack.latency_ms} ms"
    )
    total = tally.requests
    report.say(f"requests: {total} in {seconds:.1f} s = {total / seconds:.1f} requests/s")
    heads = ("requests", "req/s", "p50 ms", "p95 ms", "p99 ms")
    report.say(f"{'kind':<18} " + " ".join(f"{h:>8}" for h in heads) + "  statuses")
    kinds = {}
    for name in sorted(tally.kinds, key=lambda k: (k in DEPLOYMENT_ACTIONS, k)):
        s = tally.kinds[name].summary(seconds)
        kinds[name] = s
        statuses = ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())
        report.say(
            f"{name:<18} {s['requests']:>8} {s['per_second']:>8.1f} {s['p50_ms']:>8.1f} "
            f"{s['p95_ms']:>8.1f} {s['p99_ms']:>8.1f}  {statuses}"
        )
    for name in DEPLOYMENT_ACTIONS:
        kind = tally.kinds.get(name)
        if kind is None:
            continue
        results = ", ".join(f"{k} {v}" for k, v in sorted(kind.results.items()))
        report.say(f"{name}: {results}")
        for message, n in kind.messages.most_common(3):
            report.say(f"    {n} x refused: {message}")
    posts = stack.deployment_posts()
    upstream = deployed_sids(posts)
    audit = stack.audit()
    succeeded = list(audit.succeeded_sids)
    changed = sum(tally.kinds[k].results["changed"] for k in DEPLOYMENT_ACTIONS if k in tally.kinds)
    report.say(
        f"upstream: {len(posts)} deployment POSTs, {len(upstream)} answered 2xx; audit: "
        f"{audit.actions} entries of actions, by outcome "
        + ", ".join(f"{k} {v}" for k, v in sorted(audit.by_outcome.items()))
    )
    logged = logged_errors(stack.dashboard.log_tail(chars=50_000_000))
    for text in tally.errors[:10] + logged[:5]:
        report.say(f"error: {text}")
    fivexx = tally.count(lambda s: s.startswith("5"))
    failed = tally.count(lambda s: s == "error")
    unclear = sum(k.results["unclear"] for k in tally.kinds.values())
    report.check("soak", "5xx answers", fivexx, "==", 0, "answers")
    report.check("soak", "failed connections", failed, "==", 0, "requests")
    report.check("soak", "actions answered without a clear message", unclear, "==", 0, "answers")
    report.check(
        "soak",
        "audit entries of actions, one per POST sent",
        audit.actions,
        "==",
        result.actions_sent,
        "entries",
    )
    report.check("soak", "deployments made", len(upstream), ">=", 1, "deployments")
    report.check(
        "soak",
        "audit entries succeeded = deployments upstream (POST .../Deployments, 2xx)",
        len(succeeded),
        "==",
        len(upstream),
        "deployments",
    )
    mismatched = len(set(succeeded) ^ set(upstream)) + (len(succeeded) - len(set(succeeded)))
    report.check(
        "soak",
        "deployment SIDs in one of the audit and upstream only (or twice)",
        mismatched,
        "==",
        0,
        "SIDs",
    )
    report.check(
        "soak",
        "actions answered 'deployed' = audit entries succeeded",
        changed,
        "==",
        len(succeeded),
        "actions",
    )
    report.check(
        "soak",
        "entries left pending or unknown",
        audit.by_outcome["pending"] + audit.by_outcome["unknown"],
        "==",
        0,
        "entries",
    )
    report.check("soak", "changes taken for outside ones", audit.external, "==", 0, "entries")
    report.check("soak", "errors in gunicorn's log", len(logged), "==", 0, "lines")
    report.record(
        "soak",
        {
            "seconds": round(seconds, 1),
            "clients": args.clients,
            "managers": stack.usernames,
            "workers": stack.workers,
            "threads": stack.threads,
            "latency_ms": stack.latency_ms,
            "account": stack.size,
            "database": stack.database_name,
            "redis": stack.redis_url,
            "requests": total,
            "requests_per_second": round(total / seconds, 1),
            "kinds": kinds,
            "errors_5xx": fivexx,
            "failed_connections": failed,
            "unclear_answers": unclear,
            "actions_sent": result.actions_sent,
            "upstream_deployment_posts": len(posts),
            "upstream_deployments": len(upstream),
            "audit_actions": audit.actions,
            "audit_by_outcome": dict(audit.by_outcome),
            "audit_succeeded": len(succeeded),
            "audit_external": audit.external,
            "error_samples": tally.errors[:20],
            "logged_errors": len(logged),
            "logged_error_samples": logged[:20],
        },
    )


# -------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--duration", type=float, default=120.0, help="seconds of load (default 120)")
    add("--clients", type=int, default=6, help="closed-loop clients (default 6)")
    add("--managers", type=int, default=3, help="release managers signed in (default 3)")
    add("--workers", type=int, default=2, help="gunicorn workers, 2 or more (default 2)")
    add("--threads", type=int, default=8, help="threads per worker (default 8)")
    add("--latency-ms", type=int, default=20, help="added to every upstream call (default 20)")
    add("--services", type=int, default=3, help="services in the account (default 3)")
    add("--deployments", type=int, default=60, help="history per environment (default 60)")
    add("--seed", type=int, default=10, help="the load's random seed (default 10)")
    add(
        "--postgres",
        default=POSTGRES_URL,
        help=f"a server to create the run's database on (default {POSTGRES_URL})",
    )
    add(
        "--redis",
        default=REDIS_URL,
        help=f"a Redis database of its own, FLUSHDB-ed (default {REDIS_URL})",
    )
    add("--json", type=Path, default=ROOT / "var" / "soak.json", help="default var/soak.json")
    args = parser.parse_args(argv)
    if args.duration <= 0:
        parser.error("--duration must be positive")
    if args.workers < 2:
        parser.error("--workers must be 2 or more: production runs several")
    for name in ("clients", "managers", "threads", "services", "deployments"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not urlsplit(args.redis).path.strip("/"):
        parser.error("--redis needs a database number (it is emptied), e.g. .../13")
    return args


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # As Ctrl-C does: the `finally` blocks stop gunicorn and the emulator, drop the database.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report = Report(options=options)
    why = services_unreachable(args.postgres, args.redis)
    if why:
        report.errors["services"] = why
        report.write(args.json)
        print(f"Cannot soak: {why}.", file=sys.stderr)
        return 1
    print(
        f"Soak of {args.duration:g} s: gunicorn ({args.workers} workers x {args.threads} "
        f"threads) on PostgreSQL (a database of its own on {args.postgres}) and Redis "
        f"({args.redis}, emptied), against the emulator in a process of its own",
        flush=True,
    )
    interrupted = False
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="dashboard-soak-") as tmp:
            stack = Stack(
                Path(tmp),
                postgres_url=args.postgres,
                redis_url=args.redis,
                workers=args.workers,
                threads=args.threads,
                latency_ms=args.latency_ms,
                managers=args.managers,
                services=args.services,
                deployments=args.deployments,
            )
            with stack:
                print(
                    f"Started in {time.perf_counter() - started:.1f} s: emulator pid "
                    f"{stack.emu.pid}, gunicorn master pid {stack.dashboard.pid} at "
                    f"{stack.base_url}, database {stack.database_name}",
                    flush=True,
                )
                result = soak(stack, duration=args.duration, clients=args.clients, seed=args.seed)
                report_soak(report, stack, result, args)
    except KeyboardInterrupt:
        interrupted = True
        report.errors["run"] = "interrupted (Ctrl-C)"
    except (ServerFailed, requests.RequestException, psycopg.Error, redis.RedisError) as exc:
        report.fail("soak", exc)
    except Exception as exc:  # a bug here: its traceback, and still the file
        traceback.print_exc()
        report.fail("soak", exc)
    finally:
        report.record("run", {"seconds": round(time.perf_counter() - started, 1)})
        report.write(args.json)
        report.summary()
        print(f"\nResults written to {args.json}", flush=True)
    if interrupted:
        return 130
    failed = report.errors or not all(c.passed for c in report.checks) or not report.checks
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
