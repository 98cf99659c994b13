"""The in-process handle: start a real emulator on a thread, poke at it, stop it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from .faults import FaultInjector
from .recording import RequestLog
from .server import Credentials, EmulatorHTTPServer, ServerState
from .store import Store
from .throttle import Throttle

# Fixed demo credentials, used when none are given. Not secrets: they only
# open this local emulator.
DEMO_ACCOUNT_SID = "AC" + "dec0de" + "0" * 26
DEMO_AUTH_TOKEN = "emulator-demo-auth-token"  # noqa: S105 (a published demo value)


class Emulator:
    """A Twilio Serverless v1 emulator serving real HTTP on a daemon thread.

    >>> with Emulator(seed="demo") as emu:
    ...     emu.base_url  # e.g. "http://127.0.0.1:54321"
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str | None = "demo",
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        state_path: str | Path | None = None,
        latency_ms: int = 0,
        build_seconds: float = 10,
        max_concurrency: int | None = None,
        rate_limit_per_second: float | None = None,
        retry_after: bool = True,
        rng_seed: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.account_sid = account_sid or DEMO_ACCOUNT_SID
        self.auth_token = auth_token or DEMO_AUTH_TOKEN
        self.api_keys = dict(api_keys or {})
        self.rng_seed = rng_seed
        self.store = Store(
            account_sid=self.account_sid, build_seconds=build_seconds, state_path=state_path
        )
        # True when --state pointed at an existing file (no reseeding happened).
        self.loaded_state = self.store.open(seed, rng_seed=rng_seed)
        self.faults = FaultInjector(latency_ms=latency_ms, rng_seed=rng_seed)
        self.throttle = Throttle(
            max_concurrency=max_concurrency, rate_limit_per_second=rate_limit_per_second
        )
        self.requests = RequestLog()
        self._stopping = threading.Event()
        self._state = ServerState(
            store=self.store,
            credentials=Credentials(self.account_sid, self.auth_token, self.api_keys),
            faults=self.faults,
            throttle=self.throttle,
            requests=self.requests,
            retry_after=retry_after,
            stopping=self._stopping,
            reset=self._reset_from_http,
            verbose=verbose,
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = EmulatorHTTPServer((self.host, self._requested_port), self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how fast stop() returns
            name=f"serverless-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes requests sleeping on latency or delay faults
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.store.save()

    def reset(self, seed: str | None = "demo") -> None:
        """Fresh state from `seed`; faults and the request log cleared."""
        self.store.reset(seed, rng_seed=self.rng_seed)
        self.faults.clear()
        self.requests.clear()

    def _reset_from_http(self, seed: str | None) -> None:
        self.reset(seed)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None
