"""The emulator and the dashboard as real servers (subprocesses), and a browser-like client.

`EmulatorProcess` runs `python -m serverless_emulator` in a process of its own, so that the
fake Twilio's CPU is never serialised with the benchmark's client threads under one GIL (a
real Twilio does its work elsewhere): `load()` writes the benchmark account as a state file
and (re)starts the process on it; the request log is read and cleared over HTTP.
`DashboardServer` owns one SQLite file, migrated and seeded with the demo users once, and
starts gunicorn on a free loopback port; `restart()` gives a process with an empty
local-memory cache ("cold"). With a Redis URL the cache is shared and `flush()` empties it
instead. `Browser` signs in over HTTP and fetches a page the way htmx does: the page, then
every lazy row it names, six connections at a time.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests
from bench_data import Shape, write_state

from serverless_emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONFIG = Path(__file__).resolve().with_name("bench_gunicorn_conf.py")
# Every HTTP call the benchmark makes has this bound (connect, read), in seconds.
TIMEOUT = (3.0, 60.0)
START_TIMEOUT_SECONDS = 30.0
# The emulator reads its whole state file before it listens: seconds at 40 services.
EMULATOR_START_TIMEOUT_SECONDS = 60.0
# SIGTERM makes the emulator save its state file (tens of MB at size), then exit; after
# this long it is killed instead (the file is not needed any more).
EMULATOR_STOP_SECONDS = 5.0
# The demo user with the release-manager role (manage.py seed_demo_users).
USERNAME = "release"
PASSWORD = "demo-release"  # noqa: S105 (a published demo value)
# Access log lines: method, path (no query), status, server time in microseconds.
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
# How many connections a browser opens to one host.
BROWSER_CONNECTIONS = 6


class ServerFailed(RuntimeError):
    """gunicorn did not start, or a setup command failed; the message carries its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Upstream:
    """Where the dashboard's Twilio is: the emulator's address and credentials."""

    base_url: str
    account_sid: str
    auth_token: str
    max_concurrency: int


@dataclass(frozen=True)
class Call:
    """One v1 request of the emulator's request log; its response body is left out."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class EmulatorProcess:
    """`python -m serverless_emulator --state FILE` in a process (and session) of its own.

    The interpreter is the benchmark's, the working directory the repository's. Every state
    file is new (state-1.json, state-2.json, ... under `workdir`): the previous process saves
    its state to its own file as it stops, so it can never overwrite the next account, and
    nothing writes to a file an emulator is using but that emulator. The benchmark only
    reads upstream, so the emulator writes its file once, when it stops.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        latency_ms: int,
        account_sid: str = DEMO_ACCOUNT_SID,
        auth_token: str = DEMO_AUTH_TOKEN,
    ) -> None:
        self.workdir = workdir
        self.latency_ms = latency_ms
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.port = 0
        self.pid: int | None = None
        self.state_path: Path | None = None
        self.state_bytes = 0
        self.build_seconds = 0.0  # writing the last state file
        self.start_seconds = 0.0  # from the process's start to its first answer
        self.generation = 0
        # Emulators that did not exit within EMULATOR_STOP_SECONDS of SIGTERM, killed.
        self.stragglers = 0
        self._expected: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()
        self._log_path = workdir / "emulator.log"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        assert self.state_path is not None
        return [
            sys.executable,
            "-m",
            "serverless_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--state",
            str(self.state_path),
            "--seed",
            "empty",  # a state file that went missing gives an empty account, not the demo's
            "--latency-ms",
            str(self.latency_ms),
        ]

    def environ(self) -> dict[str, str]:
        """The benchmark's environment without its Twilio settings, plus the credentials.

        The same account SID and token go to the dashboard (`upstream()`); a developer's
        real Twilio credentials in the shell never reach either.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        return env | {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "PYTHONUNBUFFERED": "1",
        }

    def upstream(self, max_concurrency: int) -> Upstream:
        return Upstream(
            base_url=self.base_url,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            max_concurrency=max_concurrency,
        )

    # ---------------------------------------------------------------- lifecycle

    def load(self, *, services: int, environments: int, deployments: int) -> Shape:
        """The benchmark account in a new state file, and an emulator (re)started on it.

        The emulator's address changes: a dashboard started before must be restarted.
        """
        self.stop()  # first: a stopping emulator saves its state to its file
        previous = self.state_path
        self.generation += 1
        path = self.workdir / f"state-{self.generation}.json"
        started = time.perf_counter()
        shape, self._expected = write_state(
            path,
            account_sid=self.account_sid,
            services=services,
            environments=environments,
            deployments=deployments,
        )
        self.build_seconds = time.perf_counter() - started
        self.state_path, self.state_bytes = path, path.stat().st_size
        if previous is not None:
            previous.unlink(missing_ok=True)
        self.start()
        return shape

    def start(self) -> EmulatorProcess:
        if self._process is not None:
            return self
        if self.state_path is None:
            raise RuntimeError("load() an account first: the emulator starts on its state file")
        self.port = free_port()
        self._session = requests.Session()
        started = time.perf_counter()
        with self._log_path.open("ab") as log:
            log.write(f"\n$ {' '.join(self.command())}\n".encode())
            log.flush()
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and package)
                self.command(),
                cwd=ROOT,
                env=self.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session, as gunicorn's: a Ctrl-C reaches only the benchmark,
                # whose `finally` stops this process.
                start_new_session=True,
            )
        self.pid = self._process.pid
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - started
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + EMULATOR_START_TIMEOUT_SECONDS
        url = f"{self.base_url}/_emulator/health"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerFailed(f"the emulator exited at start-up:\n{self.log_tail()}")
            try:
                answer = self._session.get(url, timeout=(0.5, 10))
            except requests.RequestException:
                time.sleep(0.05)
                continue
            counts = answer.json().get("counts") if answer.status_code == 200 else None
            if counts != self._expected:
                raise ServerFailed(
                    f"the emulator answered {url} with HTTP {answer.status_code}, "
                    f"counts {counts}; the state file holds {self._expected}:\n{self.log_tail()}"
                )
            return
        raise ServerFailed(
            f"the emulator did not answer {url} within "
            f"{EMULATOR_START_TIMEOUT_SECONDS:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM (the emulator saves its state file and exits), then SIGKILL if need be."""
        process, self._process = self._process, None
        self._session.close()
        if process is None:
            return
        try:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=EMULATOR_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    self.stragglers += 1
        finally:
            # Also when the wait above was interrupted (a second Ctrl-C).
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ the request log

    def calls(self) -> list[Call]:
        """Every v1 request recorded since the last `clear_calls()`, in the order answered.

        The emulator's answer carries every response body (megabytes after a cold
        overview): call this only outside timed sections.
        """
        answer = self._session.get(f"{self.base_url}/_emulator/requests", timeout=TIMEOUT)
        answer.raise_for_status()
        return [
            Call(
                method=item["method"],
                path=item["path"],
                query=item["query"],
                status=item["status"],
            )
            for item in answer.json()["requests"]
            if item["path"].startswith("/v1/")
        ]

    def clear_calls(self) -> None:
        answer = self._session.delete(f"{self.base_url}/_emulator/requests", timeout=TIMEOUT)
        answer.raise_for_status()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DashboardServer:
    """gunicorn serving dashboard.wsgi, with its own database under `workdir`."""

    def __init__(
        self,
        upstream: Upstream,
        workdir: Path,
        *,
        workers: int = 1,
        threads: int = 8,
        live_cache_seconds: int | None = None,
        redis_url: str | None = None,
        access_log: bool = True,
        database_url: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.upstream = upstream
        self.access_log = access_log
        # A server database (PostgreSQL) instead of the SQLite file under `workdir`; it must
        # exist, and is migrated and seeded once, by the first start().
        self.database_url = database_url
        self.extra_env = dict(extra_env or {})
        self._database_ready = False
        self.workdir = workdir
        self.workers = workers
        self.threads = threads
        self.live_cache_seconds = live_cache_seconds
        self.redis_url = redis_url
        self.port = 0
        # Workers still alive 3 s after their master exited, killed by stop().
        self.stragglers = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = workdir / "gunicorn.log"
        self._access_path = workdir / "access.log"
        # One key per database: sessions signed by one server are valid on the next.
        key_file = workdir / "secret-key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(40))
        self._secret_key = key_file.read_text()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The gunicorn master's process id while it runs (its workers are its children)."""
        return self._process.pid if self._process is not None else None

    @property
    def database_path(self) -> Path:
        return self.workdir / "bench.sqlite3"

    def environ(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TWILIO_", "DJANGO_", "DASHBOARD_"))
            and k not in {"DATABASE_URL", "REDIS_URL"}
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": self._secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_COOKIES": "false",  # plain HTTP on loopback
            "DJANGO_LOG_LEVEL": "WARNING",
            "TWILIO_SERVERLESS_BASE_URL": self.upstream.base_url,
            "TWILIO_ACCOUNT_SID": self.upstream.account_sid,
            "TWILIO_AUTH_TOKEN": self.upstream.auth_token,
            "TWILIO_MAX_CONCURRENCY": str(self.upstream.max_concurrency),
            "DATABASE_URL": self.database_url or f"sqlite:///{self.database_path}",
            "PYTHONUNBUFFERED": "1",
        }
        env |= self.extra_env
        if self.live_cache_seconds is not None:
            env["DASHBOARD_LIVE_CACHE_SECONDS"] = str(self.live_cache_seconds)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    # ---------------------------------------------------------------- lifecycle

    def prepare_database(self) -> None:
        """Migrate and create the demo users, once per database file (or server database)."""
        if self._database_ready or (not self.database_url and self.database_path.exists()):
            return
        for command in (["migrate", "--noinput"], ["seed_demo_users"]):
            self._manage(command)
        self._database_ready = True

    def manage(self, *args: str) -> str:
        """`manage.py ARGS` on this server's database and settings; its output."""
        return self._manage(list(args))

    def _manage(self, args: list[str]) -> str:
        done = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServerFailed(
                f"manage.py {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def start(self) -> DashboardServer:
        if self._process is not None:
            return self
        self.prepare_database()
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "dashboard.wsgi:application",
            "--config",
            str(GUNICORN_CONFIG),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--threads",
            str(self.threads),
            "--workers",
            str(self.workers),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            # No control socket: by default every gunicorn shares one path in $HOME.
            "--no-control-socket",
        ]
        if self.access_log:
            # The server's own time per request (%(D)s, microseconds), beside the client's.
            command += ["--access-logfile", str(self._access_path)]
            command += ["--access-logformat", ACCESS_FORMAT]
        log = self._log_path.open("ab")
        try:
            # A process group of its own: stop() can then end the workers too, whatever
            # the master did, and a Ctrl-C in the terminal reaches only the benchmark.
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and gunicorn)
                command,
                cwd=ROOT,
                env=self.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        url = f"{self.base_url}/accounts/login/"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                output = self.log_tail()
                self._process = None
                raise ServerFailed(f"gunicorn exited at start-up:\n{output}")
            try:
                if requests.get(url, timeout=(0.5, 5)).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        output = self.log_tail()
        self.stop()
        raise ServerFailed(
            f"gunicorn did not answer {url} within {START_TIMEOUT_SECONDS:.0f} s:\n{output}"
        )

    def access_mark(self) -> int:
        """Where the access log ends now: `access_times(since=mark)` reads what follows."""
        try:
            return self._access_path.stat().st_size
        except OSError:
            return 0

    def access_times(self, *, since: int, path: str | None = None) -> list[float]:
        """Server times (ms) of the requests logged after `since`, for one path if given."""
        try:
            with self._access_path.open("rb") as log:
                log.seek(since)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return []
        times = []
        for line in lines:
            parts = line.split()
            if len(parts) != 4 or not parts[3].isdigit():
                continue
            _method, target, _status, micros = parts
            if path is None or target.split("?")[0] == path:
                times.append(int(micros) / 1000)
        return times

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def stop(self) -> None:
        """Stop the master, then make sure that no worker outlives it."""
        process, self._process = self._process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the master leads its own group
        try:
            if process.poll() is None:
                # SIGTERM, the graceful stop: quick here, as the benchmark closes its
                # connections first. Not SIGINT: gunicorn 27's gthread worker then shuts its
                # thread pool down inside the signal handler, which deadlocks when the signal
                # lands in the middle of a submit() (python/cpython#121649).
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            deadline = time.monotonic() + 3
            while _group_alive(group):
                if time.monotonic() > deadline:
                    self.stragglers += 1  # a worker that hung on its way out
                    break
                time.sleep(0.05)
        finally:
            # Whatever is left of the group, also when a second Ctrl-C cut the wait short.
            if _group_alive(group):
                with suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
            if process.poll() is None:
                process.wait(timeout=10)

    def restart(self) -> None:
        """A fresh process: its local-memory cache is empty."""
        self.stop()
        self.start()

    def flush(self) -> None:
        """Empty the shared Redis cache (only with a Redis URL)."""
        if not self.redis_url:
            raise RuntimeError("flush() needs a Redis cache; restart() empties a local one")
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()

    def make_cold(self) -> None:
        """An empty cache: FLUSHDB on Redis (the server started if need be), else a new process."""
        if self.redis_url:
            self.start()
            self.flush()
        else:
            self.restart()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------ the client


class _HxFinder(HTMLParser):
    """Collects lazy rows (`data-lazy-row` with `hx-get`) and the "Load more" link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lazy: list[str] = []
        self.load_more: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("hx-get")
        if not url:
            return
        if "data-lazy-row" in found:
            self.lazy.append(url)
        elif found.get("id") == "load-more" or (self.load_more is None and "cursor=" in url):
            self.load_more = url


def lazy_rows(html: str) -> list[str]:
    finder = _HxFinder()
    finder.feed(html)
    return finder.lazy


def load_more_url(html: str) -> str | None:
    finder = _HxFinder()
    finder.feed(html)
    return finder.load_more


@dataclass
class Fetched:
    """A complete page: its first paint, and when the last lazy row arrived."""

    status: int  # the page's own
    first_paint_ms: float
    complete_ms: float
    lazy_rows: int
    errors: list[str] = field(default_factory=list)
    server_timing_ms: float | None = None


def server_timing_ms(response: requests.Response) -> float | None:
    """The `total` (else the largest) duration of a Server-Timing header, if any."""
    header = response.headers.get("Server-Timing")
    if not header:
        return None
    durations: dict[str, float] = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "dur":
                with suppress(ValueError):  # a malformed metric is skipped
                    durations[name] = float(value.strip().strip('"'))
    if not durations:
        return None
    return durations.get("total", max(durations.values()))


class Browser:
    """A signed-in user: one session for pages, six more for what htmx loads after them."""

    def __init__(self, base_url: str, cookies: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if cookies:
            self.session.cookies.update(cookies)
        self._side = [requests.Session() for _ in range(BROWSER_CONNECTIONS)]
        self._free: list[requests.Session] = list(self._side)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(BROWSER_CONNECTIONS, thread_name_prefix="browser")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for session in [self.session, *self._side]:
            session.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def cookies(self) -> dict[str, str]:
        return {c.name: c.value for c in self.session.cookies if c.value is not None}

    def login(self, username: str = USERNAME, password: str = PASSWORD) -> None:
        page = self.session.get(self.url("/accounts/login/"), timeout=TIMEOUT)
        page.raise_for_status()
        token = self.session.cookies.get("csrftoken")
        if not token:
            raise ServerFailed("the login page set no csrftoken cookie")
        # No redirect is followed: the overview it leads to would warm the cache.
        answer = self.session.post(
            self.url("/accounts/login/"),
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": self.url("/accounts/login/")},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if answer.status_code != 302 or "sessionid" not in self.session.cookies:
            raise ServerFailed(
                f"signing in as {username!r} failed: HTTP {answer.status_code}\n"
                f"{answer.text[:2000]}"
            )

    def get(
        self, path: str, *, htmx: bool = False, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        return self._get(self.session, path, htmx=htmx, headers=headers)

    def _get(
        self,
        session: requests.Session,
        path: str,
        *,
        htmx: bool,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        sent: dict[str, Any] = dict(headers or {})
        if htmx:
            sent |= {"HX-Request": "true", "HX-Current-URL": self.url("/")}
        return session.get(self.url(path), headers=sent, timeout=TIMEOUT, allow_redirects=False)

    def _side_get(self, path: str) -> requests.Response | str:
        """A lazy row's answer, or what went wrong as a sentence."""
        with self._lock:
            session = self._free.pop()
        try:
            session.cookies.update(self.cookies())
            return self._get(session, path, htmx=True)
        except requests.RequestException as exc:
            return f"GET {path}: {exc!r}"
        finally:
            with self._lock:
                self._free.append(session)

    def page(self, path: str = "/", *, on_first_paint: Callable[[], None] | None = None) -> Fetched:
        """GET the page, then every lazy row it names (and rows those name), as htmx would.

        `on_first_paint` runs between the page and its lazy rows, outside the timing.
        """
        started = time.perf_counter()
        first = self.get(path)
        first_paint = (time.perf_counter() - started) * 1000
        if first.status_code != 200:
            # A redirect to the login page or an error page measures nothing.
            raise ServerFailed(
                f"GET {path} answered HTTP {first.status_code} "
                f"{first.headers.get('Location', '')}\n{first.text[:1000]}"
            )
        if on_first_paint is not None:
            paused = time.perf_counter()
            on_first_paint()
            started += time.perf_counter() - paused
        errors: list[str] = []
        pending = lazy_rows(first.text)
        seen: set[str] = set()
        count = 0
        # Rows found in rows are followed too, at most three levels down.
        for _depth in range(3):
            pending = [url for url in pending if url not in seen]
            if not pending:
                break
            batch, pending = pending, []
            seen.update(batch)
            count += len(batch)
            for url, answer in zip(batch, self._pool.map(self._side_get, batch), strict=True):
                if isinstance(answer, str):
                    errors.append(answer)
                    continue
                if answer.status_code != 200:
                    errors.append(f"GET {url}: HTTP {answer.status_code}")
                pending += lazy_rows(answer.text)
        complete = (time.perf_counter() - started) * 1000
        return Fetched(
            status=first.status_code,
            first_paint_ms=first_paint,
            complete_ms=complete,
            lazy_rows=count,
            errors=errors,
            server_timing_ms=server_timing_ms(first),
        )
