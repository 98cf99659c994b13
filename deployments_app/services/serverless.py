"""The client for Twilio's Serverless REST API v1: the only code that speaks HTTP to Twilio.

Contract: /work/shared/spec/twilio_serverless_v1.json (Twilio's OpenAPI description).
Every HTTP call below carries a comment naming its endpoint there.

- One `requests.Session` per client, and one client per process (`get_client()`), shared
  by all threads: connection pooling, Basic auth, a User-Agent, no cookies.
- Every call has a (connect, read) timeout. The connection pool holds `max_concurrency`
  connections and blocks when all are busy, so at most that many requests are in flight
  per client, whichever thread sends them (Twilio limits concurrency per account).
- GETs are retried by urllib3 (`_ReadRetry`, mounted on the session's adapter) on
  connection errors, 429 (Retry-After honoured up to a cap) and 502/503/504, with
  exponential backoff and jitter, bounded in attempts and in time. A read timeout is
  not retried: a slow upstream would only make the page slower.
- The POST that creates a deployment is sent once. When its outcome is ambiguous (read
  timeout, connection lost, 5xx, unreadable body) the client re-reads the environment
  and reports what is true (see `deployment_create`).
- Lists: `*_iter` follows `meta.next_page_url` to the end; `*_page` returns one page and
  an opaque cursor (urlsafe base64 of the next page's path and query, never a host).
- Failures are typed (serverless_errors.py); results are frozen dataclasses
  (serverless_types.py). No credential ever reaches a log line or an exception.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from types import TracebackType
from typing import Any, Literal, NoReturn, Self, TypeVar, overload
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from urllib3.connectionpool import ConnectionPool
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from deployments_app.sids import is_service_ref, is_sid

from . import upstream_budget
from .history import newest_of
from .serverless_config import MAX_PAGE_SIZE, PROJECT_NAME, ClientConfig
from .serverless_errors import (
    AlreadyDeployed,
    AuthenticationFailed,
    DeploymentNotApplied,
    DeploymentOutcomeUnknown,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerlessError,
    UpstreamUnavailable,
)
from .serverless_paging import (
    MAX_PAGES,
    decode_cursor,
    encode_cursor,
    path_of,
    relative_target,
    with_query,
)
from .serverless_types import (
    AssetVersion,
    Build,
    BuildStatus,
    Deployment,
    DeploymentResult,
    Environment,
    Function,
    FunctionVersion,
    Log,
    Page,
    Service,
    Variable,
)

__all__ = [
    "PROJECT_NAME",
    "ClientConfig",
    "ClientStats",
    "ServerlessClient",
    "get_client",
    "reset_client",
]

logger = logging.getLogger(__name__)

# Statuses worth another GET: rate limited, or a gateway/upstream hiccup.
_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# The debug line of every call: method, path, status (or the transport's cause), time.
_SENT = "%s %s -> %s in %.0f ms (attempts: %d)"

T = TypeVar("T")
R = TypeVar("R")


class _BasicAuth(HTTPBasicAuth):
    """HTTP Basic auth whose repr names the user only (Django's debug page shows reprs)."""

    def __repr__(self) -> str:
        return f"<BasicAuth user={self.username!r}>"


@dataclass(frozen=True)
class ClientStats:
    """Counters since the client was made, for tests and diagnostics."""

    requests_sent: int
    retries: int
    failures: int
    # Requests given up on while waiting for the answer (read timeouts).
    timeouts: int = 0


@dataclass
class _Outcome:
    """What one call produced (after any retries): JSON data, or an error and its nature."""

    data: dict[str, Any] | None = None
    error: ServerlessError | None = None
    # The request may have reached Twilio and been acted on, but we cannot tell.
    ambiguous: bool = False
    # ...and it may even still be running there (timeout, lost connection, 502/504).
    may_still_run: bool = False
    # No answer within the read timeout: Twilio had the request and was still on it.
    timed_out: bool = False


class _ReadRetry(Retry):
    """urllib3's Retry, narrowed to what is safe to repeat against Twilio.

    - Only the methods in `allowed_methods` (GET) are retried. Any other is sent once
      whatever happens, even on a connection error, which urllib3 would otherwise retry
      for every method: a deployment POST must never be sent twice.
    - A read timeout is not retried: the upstream is slow, and the page is waiting.
    - A Retry-After longer than `retry_after_cap` gives up at once: waiting less than
      Twilio asked would only earn another 429, waiting longer would hold the page.
    - No retry is started whose pause would end later than `budget` seconds after the
      first failure, or after the page's upstream budget (services/upstream_budget.py).
    - `on_retry` hears of every retry before its pause (the client counts and logs).
    """

    # Only status_forcelist says which statuses are retried (urllib3 would also retry a
    # 413 that carries a Retry-After).
    RETRY_AFTER_STATUS_CODES = frozenset()

    def __init__(
        self,
        *args: Any,
        retry_after_cap: float = 5.0,
        budget: float = 8.0,
        on_retry: Callable[[_ReadRetry], None] | None = None,
        deadline: float | None = None,
        pause: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap
        self.budget = budget
        self.on_retry = on_retry
        self.deadline = deadline
        # The wait before the retry this object stands for (decided once, jitter and all).
        self.pause = pause

    def new(self, **kw: Any) -> Self:
        ours = {
            "retry_after_cap": self.retry_after_cap,
            "budget": self.budget,
            "on_retry": self.on_retry,
            "deadline": self.deadline,
            "pause": self.pause,
        }
        return super().new(**(ours | kw))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        # An unreadable Retry-After is no advice (urllib3 would fail the request on it).
        try:
            return super().get_retry_after(response)
        except urllib3.exceptions.InvalidHeader:
            return None

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        failure = (method, url, response, error, _pool, _stacktrace)
        retry_after = self.get_retry_after(response) if response is not None else None
        if (
            method is None
            or not self._is_method_retryable(method)
            or isinstance(error, urllib3.exceptions.ReadTimeoutError)
            or (retry_after is not None and retry_after > self.retry_after_cap)
        ):
            self._give_up(*failure)
        retry = super().increment(*failure)
        deadline = self.deadline if self.deadline is not None else time.monotonic() + self.budget
        left = upstream_budget.remaining()
        if left is not None:
            # A page's reads stop retrying when its budget is spent, not only their own.
            deadline = min(deadline, time.monotonic() + left)
        pause = retry_after if retry_after is not None else retry.get_backoff_time()
        if time.monotonic() + pause > deadline:
            self._give_up(*failure)
        retry = retry.new(deadline=deadline, pause=pause)
        if self.on_retry is not None:
            self.on_retry(retry)
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.pause > 0:
            time.sleep(self.pause)

    def _give_up(self, *failure: Any) -> NoReturn:
        # Fail exactly as requests' adapter without retries, Retry(0, read=False), does:
        # a read error as itself, anything else as MaxRetryError (for a response, urllib3
        # then returns it as it is: raise_on_status is off).
        Retry.increment(self.new(total=0, read=False), *failure)
        raise AssertionError("Retry(0) always gives up")


# --- the client -----------------------------------------------------------------------


class ServerlessClient:
    """A thread-safe client; build one per process (see `get_client()`)."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._base_url = config.base_url.rstrip("/")
        self._base_path = urlsplit(self._base_url).path.rstrip("/")
        self._secrets = config.secrets()
        # Attempts of the call this thread is making (the retry policy adds to it).
        self._call = threading.local()
        self._retry_policy = self._new_retry_policy()
        self._session = self._new_session()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._requests_sent = 0
        self._retries = 0
        self._failures = 0
        self._timeouts = 0

    def __repr__(self) -> str:
        return f"<ServerlessClient {self._base_url}>"

    def _new_retry_policy(self) -> _ReadRetry:
        config = self.config
        return _ReadRetry(
            total=config.max_attempts - 1,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=_RETRYABLE_STATUSES,
            backoff_factor=config.backoff_base_seconds,
            backoff_max=config.backoff_max_seconds,
            backoff_jitter=config.backoff_base_seconds,
            # The last answer of a retried read is classified like any other.
            raise_on_status=False,
            retry_after_cap=config.retry_after_cap_seconds,
            budget=config.retry_budget_seconds,
            on_retry=self._on_retry,
        )

    def _new_session(self) -> requests.Session:
        # As many connections as requests may be in flight, and no more: a thread finding
        # them all busy waits for one (pool_block), so the pool is the concurrency bound.
        adapter = HTTPAdapter(
            pool_connections=4,
            pool_maxsize=self.config.max_concurrency,
            pool_block=True,
            max_retries=self._retry_policy,
        )
        session = requests.Session()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        credentials = self.config.auth_pair()
        if credentials is not None:
            session.auth = _BasicAuth(*credentials)
        user_agent = f"{self.config.user_agent} python-requests/{requests.__version__}"
        session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        # The API sets no cookies we need; a shared jar would be shared mutable state.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return session

    def close(self) -> None:
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
        self._session.close()

    @property
    def stats(self) -> ClientStats:
        with self._stats_lock:
            return ClientStats(self._requests_sent, self._retries, self._failures, self._timeouts)

    def _count(
        self, *, sent: int = 0, retries: int = 0, failures: int = 0, timeouts: int = 0
    ) -> None:
        with self._stats_lock:
            self._requests_sent += sent
            self._retries += retries
            self._failures += failures
            self._timeouts += timeouts

    # --- reads: services and environments -----------------------------------------------

    def service_list(self) -> list[Service]:
        # GET /v1/Services
        return list(self._iterate("/v1/Services", {}, "services", Service.from_json))

    def service_page(self, *, page_size: int | None = None) -> Page[Service]:
        """One page of the account's services: the cheapest call that proves Twilio answers."""
        params = {"PageSize": str(self._page_size(page_size))}
        # GET /v1/Services
        return self._page("/v1/Services", params, None, "services", Service.from_json)

    def service_get(self, *, service: str) -> Service:
        """One Service, by SID or unique name."""
        # GET /v1/Services/{Sid}
        data = self._get(f"/v1/Services/{self._service(service)}")
        return Service.from_json(data)

    def environment_list(self, *, service_sid: str) -> list[Environment]:
        path = f"/v1/Services/{self._service(service_sid)}/Environments"
        # GET /v1/Services/{ServiceSid}/Environments
        return list(self._iterate(path, {}, "environments", Environment.from_json))

    def environment_get(self, *, service_sid: str, environment_sid: str) -> Environment:
        env = self._sid(environment_sid, "environment")
        # GET /v1/Services/{ServiceSid}/Environments/{Sid}
        data = self._get(f"/v1/Services/{self._service(service_sid)}/Environments/{env}")
        return Environment.from_json(data)

    def variable_list(self, *, service_sid: str, environment_sid: str) -> list[Variable]:
        env = self._sid(environment_sid, "environment")
        path = f"/v1/Services/{self._service(service_sid)}/Environments/{env}/Variables"
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Variables
        return list(self._iterate(path, {}, "variables", Variable.from_json))

    # --- reads: deployments ---------------------------------------------------------------

    def deployment_iter(
        self, *, service_sid: str, environment_sid: str, page_size: int | None = None
    ) -> Iterator[Deployment]:
        """Every deployment of an environment, in the order Twilio lists them."""
        path = self._deployments_path(service_sid, environment_sid)
        params = {"PageSize": str(self._page_size(page_size))}
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments
        return self._iterate(path, params, "deployments", Deployment.from_json)

    def deployment_page(
        self,
        *,
        service_sid: str,
        environment_sid: str,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page[Deployment]:
        """One page of deployments in one upstream call; pass `next_cursor` for the next.

        With a cursor, the page size is the one the cursor was made with.
        """
        path = self._deployments_path(service_sid, environment_sid)
        params = {"PageSize": str(self._page_size(page_size))}
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments
        return self._page(path, params, cursor, "deployments", Deployment.from_json)

    def deployment_get(
        self, *, service_sid: str, environment_sid: str, deployment_sid: str
    ) -> Deployment:
        path = self._deployments_path(service_sid, environment_sid)
        deployment = self._sid(deployment_sid, "deployment")
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments/{Sid}
        return Deployment.from_json(self._get(f"{path}/{deployment}"))

    # --- reads: builds, versions, functions -----------------------------------------------

    def build_iter(self, *, service_sid: str, page_size: int | None = None) -> Iterator[Build]:
        path = f"/v1/Services/{self._service(service_sid)}/Builds"
        params = {"PageSize": str(self._page_size(page_size))}
        # GET /v1/Services/{ServiceSid}/Builds
        return self._iterate(path, params, "builds", Build.from_json)

    def build_page(
        self, *, service_sid: str, page_size: int | None = None, cursor: str | None = None
    ) -> Page[Build]:
        path = f"/v1/Services/{self._service(service_sid)}/Builds"
        params = {"PageSize": str(self._page_size(page_size))}
        # GET /v1/Services/{ServiceSid}/Builds
        return self._page(path, params, cursor, "builds", Build.from_json)

    def build_get(self, *, service_sid: str, build_sid: str) -> Build:
        build = self._sid(build_sid, "build")
        # GET /v1/Services/{ServiceSid}/Builds/{Sid}
        return Build.from_json(
            self._get(f"/v1/Services/{self._service(service_sid)}/Builds/{build}")
        )

    def build_status_get(self, *, service_sid: str, build_sid: str) -> BuildStatus:
        build = self._sid(build_sid, "build")
        path = f"/v1/Services/{self._service(service_sid)}/Builds/{build}/Status"
        # GET /v1/Services/{ServiceSid}/Builds/{Sid}/Status
        return BuildStatus.from_json(self._get(path))

    def function_list(self, *, service_sid: str) -> list[Function]:
        path = f"/v1/Services/{self._service(service_sid)}/Functions"
        # GET /v1/Services/{ServiceSid}/Functions
        return list(self._iterate(path, {}, "functions", Function.from_json))

    def function_version_list(
        self, *, service_sid: str, function_sid: str
    ) -> list[FunctionVersion]:
        path = self._versions_path(service_sid, "Functions", function_sid)
        # GET /v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions
        return list(self._iterate(path, {}, "function_versions", FunctionVersion.from_json))

    def function_version_get(
        self, *, service_sid: str, function_sid: str, version_sid: str
    ) -> FunctionVersion:
        path = self._versions_path(service_sid, "Functions", function_sid)
        version = self._sid(version_sid, "version")
        # GET /v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}
        return FunctionVersion.from_json(self._get(f"{path}/{version}"))

    def asset_version_list(self, *, service_sid: str, asset_sid: str) -> list[AssetVersion]:
        path = self._versions_path(service_sid, "Assets", asset_sid)
        # GET /v1/Services/{ServiceSid}/Assets/{AssetSid}/Versions
        return list(self._iterate(path, {}, "asset_versions", AssetVersion.from_json))

    def asset_version_get(
        self, *, service_sid: str, asset_sid: str, version_sid: str
    ) -> AssetVersion:
        path = self._versions_path(service_sid, "Assets", asset_sid)
        version = self._sid(version_sid, "version")
        # GET /v1/Services/{ServiceSid}/Assets/{AssetSid}/Versions/{Sid}
        return AssetVersion.from_json(self._get(f"{path}/{version}"))

    # --- reads: logs ------------------------------------------------------------------------

    def log_iter(
        self,
        *,
        service_sid: str,
        environment_sid: str,
        function_sid: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[Log]:
        path, params = self._logs_query(
            service_sid, environment_sid, function_sid, start_date, end_date, page_size
        )
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Logs
        return self._iterate(path, params, "logs", Log.from_json)

    def log_page(
        self,
        *,
        service_sid: str,
        environment_sid: str,
        function_sid: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page[Log]:
        """One page of logs; with a cursor, the filters are those the cursor was made with."""
        path, params = self._logs_query(
            service_sid, environment_sid, function_sid, start_date, end_date, page_size
        )
        # GET /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Logs
        return self._page(path, params, cursor, "logs", Log.from_json)

    def _logs_query(
        self,
        service_sid: str,
        environment_sid: str,
        function_sid: str | None,
        start_date: datetime | None,
        end_date: datetime | None,
        page_size: int | None,
    ) -> tuple[str, dict[str, str]]:
        env = self._sid(environment_sid, "environment")
        path = f"/v1/Services/{self._service(service_sid)}/Environments/{env}/Logs"
        params: dict[str, str] = {}
        if function_sid is not None:
            params["FunctionSid"] = self._sid(function_sid, "function")
        if start_date is not None:
            params["StartDate"] = _format_datetime(start_date, "start_date")
        if end_date is not None:
            params["EndDate"] = _format_datetime(end_date, "end_date")
        params["PageSize"] = str(self._page_size(page_size))
        return path, params

    # --- writes -----------------------------------------------------------------------------

    def deployment_create(
        self, *, service_sid: str, environment_sid: str, build_sid: str | None
    ) -> DeploymentResult:
        """Deploy `build_sid` to the environment, or clear it when `build_sid` is None.

        Sent exactly once, never retried. Outcomes:
        - 201: the result holds the new Deployment;
        - 409 with code 20409 (already live): a result with `already_live=True`;
        - ambiguous failure (read timeout, connection lost after sending, 5xx, unreadable
          body): the environment is re-read. If its build_sid is now the requested one,
          a result with `confirmed_by_reread=True`; if not, DeploymentNotApplied; if the
          re-read fails too, DeploymentOutcomeUnknown;
        - any other failure raises its typed error (nothing was applied).
        """
        path = self._deployments_path(service_sid, environment_sid)
        form: dict[str, str] = {}
        if build_sid is not None:
            form["BuildSid"] = self._sid(build_sid, "build")
        result = DeploymentResult(
            service_sid=service_sid,
            environment_sid=environment_sid,
            build_sid=build_sid,
            deployment=None,
        )
        # POST /v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments
        outcome = self._send("POST", path, form=form)
        if outcome.data is not None:
            deployment = Deployment.from_json(outcome.data)
            logger.info(
                "Deployed %s to %s: %s", build_sid or "nothing", environment_sid, deployment.sid
            )
            return replace(result, deployment=deployment)
        error = outcome.error
        assert error is not None
        if isinstance(error, AlreadyDeployed):
            logger.info("Build %s is already live on %s", build_sid, environment_sid)
            return replace(result, already_live=True)
        if not outcome.ambiguous:
            self._count(failures=1)
            raise error
        return self._settle_ambiguous_deployment(
            result, error, may_still_run=outcome.may_still_run, timed_out=outcome.timed_out
        )

    def _reread_until(
        self, result: DeploymentResult, *, settle: float
    ) -> tuple[Environment | None, ServerlessError | None]:
        """Re-read the environment until it shows the requested build or `settle` ends.

        A request that timed out may still be running upstream, so a first re-read that
        shows nothing is asked again a few times (0.1 s, 0.2 s, 0.4 s… apart).
        """
        deadline = time.monotonic() + settle
        pause = 0.1
        while True:
            try:
                environment = self.environment_get(
                    service_sid=result.service_sid, environment_sid=result.environment_sid
                )
            except ServerlessError as exc:
                return None, exc
            if environment.build_sid == result.build_sid:
                return environment, None
            if time.monotonic() + pause > deadline:
                return environment, None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _settle_ambiguous_deployment(
        self,
        result: DeploymentResult,
        error: ServerlessError,
        *,
        may_still_run: bool,
        timed_out: bool = False,
    ) -> DeploymentResult:
        logger.warning(
            "Deployment of %s to %s: outcome unknown (%s); re-reading the environment",
            result.build_sid or "nothing",
            result.environment_sid,
            error,
        )
        environment, reread_error = self._reread_until(
            result, settle=self.config.settle_seconds if may_still_run else 0.0
        )
        if environment is None:
            assert reread_error is not None
            self._count(failures=1)
            raise DeploymentOutcomeUnknown(
                "The deployment's outcome is unknown: Twilio did not answer the request "
                "and the environment could not be re-read",
                status=error.status,
                code=error.code,
                method="POST",
                path=error.path,
                attempts=1,
                detail=f"{error.message}; re-read: {reread_error.message}",
            )
        if environment.build_sid != result.build_sid and timed_out:
            # Still unanswered, so maybe still running: it can land after the re-reads
            # stop. Unknown, for reconcile to settle by what goes live; "nothing
            # changed, try again" here could be false and invite a second deployment.
            self._count(failures=1)
            raise DeploymentOutcomeUnknown(
                "The deployment's outcome is unknown: Twilio did not answer in time and "
                "the environment does not show it yet",
                status=error.status,
                code=error.code,
                method="POST",
                path=error.path,
                attempts=1,
                detail=f"{error.message}; re-read: {environment.build_sid or 'nothing'} is live",
            )
        if environment.build_sid != result.build_sid:
            logger.warning(
                "Deployment of %s to %s did not take effect; %s is live",
                result.build_sid or "nothing",
                result.environment_sid,
                environment.build_sid or "nothing",
            )
            self._count(failures=1)
            raise DeploymentNotApplied(
                "The deployment did not take effect",
                live_build_sid=environment.build_sid,
                status=error.status,
                code=error.code,
                method="POST",
                path=error.path,
                attempts=1,
                detail=error.message,
            )
        logger.warning(
            "Deployment of %s to %s took effect (confirmed by re-reading the environment)",
            result.build_sid or "nothing",
            result.environment_sid,
        )
        deployment: Deployment | None = None
        try:
            history = self.deployment_iter(
                service_sid=result.service_sid,
                environment_sid=result.environment_sid,
                page_size=MAX_PAGE_SIZE,
            )
            deployment = newest_of(history, result.build_sid)
        except ServerlessError as exc:
            logger.warning("Could not find the confirmed deployment in the history: %s", exc)
        return replace(result, deployment=deployment, confirmed_by_reread=True)

    # --- many reads at once -----------------------------------------------------------------

    @overload
    def read_many(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        return_exceptions: Literal[False] = ...,
    ) -> list[R]: ...

    @overload
    def read_many(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        return_exceptions: Literal[True],
    ) -> list[R | ServerlessError]: ...

    def read_many(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        return_exceptions: bool = False,
    ) -> list[R] | list[R | ServerlessError]:
        """`[fn(item) for item in items]`, run concurrently on the client's pool.

        Results keep the order of `items`. The pool has `max_concurrency` threads, as
        many as the connections its requests share, so N independent reads cost ⌈N/10⌉
        round trips. With `return_exceptions=True` a failed read leaves its
        ServerlessError in its place instead of raising (a page can show the rest);
        otherwise the first failure in item order is raised. Called from inside a pool
        thread it runs sequentially, so nested use cannot deadlock the pool.
        """
        work = list(items)
        read = functools.partial(_call_captured, fn)
        results: list[R | _Raised]
        if len(work) <= 1 or getattr(_pool_thread, "active", False):
            results = [read(item) for item in work]
        else:
            # Each read runs in a copy of the caller's context: logs keep the request's id.
            context = contextvars.copy_context()
            try:
                results = list(self._pool().map(lambda item: context.copy().run(read, item), work))
            except (CancelledError, RuntimeError) as exc:
                # The client was closed under this read (reset_client: a settings change,
                # a test's teardown): finish it here, one read at a time.
                if isinstance(exc, RuntimeError) and "shutdown" not in str(exc):
                    raise
                results = [read(item) for item in work]
        if not return_exceptions:
            for value in results:
                if isinstance(value, _Raised):
                    raise value.error
        return [value.error if isinstance(value, _Raised) else value for value in results]

    def read_in_background(self, fn: Callable[[T], object], items: Iterable[T]) -> None:
        """fn(item) for each item on the client's pool, not waited for (a read-ahead).

        The pool bounds it like any read; a failure is logged, never raised (whoever
        needs the result reads it again and gets the error then).
        """
        pool = self._pool()
        for item in items:
            pool.submit(_call_captured, fn, item).add_done_callback(_log_background_failure)

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.config.max_concurrency,
                    thread_name_prefix="serverless-read",
                    initializer=_mark_pool_thread,
                )
            return self._executor

    # --- paging -----------------------------------------------------------------------------

    def _iterate(
        self,
        path: str,
        params: Mapping[str, str],
        key: str,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> Iterator[T]:
        """Yield every item, following meta.next_page_url; skip SIDs already yielded.

        A lazy generator: nothing is requested until the first item is asked for. The
        de-duplication keeps the result right if the upstream pages by index while new
        items are being added at the front.
        """

        def generate() -> Iterator[T]:
            target: str | None = with_query(path, params)
            seen: set[str] = set()
            pages = 0
            while target is not None:
                pages += 1
                if pages > MAX_PAGES:
                    raise UpstreamUnavailable(
                        "Twilio's paging did not end", method="GET", path=path
                    )
                items, next_target = self._fetch_page(target, key, parse)
                for item in items:
                    sid = getattr(item, "sid", None)
                    if sid:
                        if sid in seen:
                            continue
                        seen.add(sid)
                    yield item
                if next_target == target:
                    logger.warning("Twilio's next_page_url repeats %s; stopping", path)
                    break
                target = next_target

        return generate()

    def _page(
        self,
        path: str,
        params: Mapping[str, str],
        cursor: str | None,
        key: str,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> Page[T]:
        target = (
            with_query(path, params)
            if cursor is None
            else decode_cursor(cursor, expected_path=path)
        )
        items, next_target = self._fetch_page(target, key, parse)
        return Page(items=tuple(items), next_cursor=encode_cursor(next_target))

    def _fetch_page(
        self, target: str, key: str, parse: Callable[[Mapping[str, Any]], T]
    ) -> tuple[list[T], str | None]:
        data = self._get(target)
        raw_items = data.get(key)
        if not isinstance(raw_items, list):
            raise UpstreamUnavailable(
                f"Twilio's list response has no {key!r} list",
                method="GET",
                path=urlsplit(target).path,
            )
        items = [parse(item) for item in raw_items if isinstance(item, Mapping)]
        meta = data.get("meta")
        next_url = meta.get("next_page_url") if isinstance(meta, Mapping) else None
        next_target = (
            relative_target(next_url, base_path=self._base_path)
            if isinstance(next_url, str) and next_url
            else None
        )
        return items, next_target

    # --- HTTP -------------------------------------------------------------------------------

    def _get(self, target: str) -> dict[str, Any]:
        """GET a path (with its query) under the base URL; urllib3 retries what is safe."""
        outcome = self._send("GET", target)
        if outcome.data is None:
            assert outcome.error is not None
            self._count(failures=1)
            raise outcome.error
        if self._call.attempts > 1:
            logger.info("GET %s succeeded after %d attempts", path_of(target), self._call.attempts)
        return outcome.data

    def _on_retry(self, retry: _ReadRetry) -> None:
        """The retry policy is about to repeat a read (in the thread that sent it)."""
        last = retry.history[-1]
        cause = f"HTTP {last.status}" if last.status else type(last.error).__name__
        self._call.attempts = getattr(self._call, "attempts", 1) + 1
        self._count(sent=1, retries=1)
        logger.warning(
            "GET %s failed (%s); retrying in %.2f s (attempt %d of %d)",
            path_of(last.url or ""),
            cause,
            retry.pause,
            len(retry.history),
            self.config.max_attempts,
        )

    def _send(self, method: str, target: str, *, form: Mapping[str, str] | None = None) -> _Outcome:
        """Send one request (GETs retried by the adapter) and classify what came back.

        Never raises a transport error.
        """
        path = path_of(target)
        if self.config.auth_pair() is None:
            return _Outcome(
                error=AuthenticationFailed(
                    "No Twilio credentials are configured", method=method, path=path
                )
            )
        url = self._base_url + target
        headers = (
            {"Content-Type": "application/x-www-form-urlencoded"} if method == "POST" else None
        )
        read_timeout = self.config.read_timeout
        left = upstream_budget.remaining() if method == "GET" else None
        if left is not None:
            # A page's reads share one budget (services/upstream_budget.py); actions'
            # POSTs are never cut short by it.
            if left <= 0.05:
                return _Outcome(error=self._budget_spent(method, path))
            read_timeout = min(read_timeout, left)
        failure: _Outcome | None = None
        response: requests.Response | None = None
        self._call.attempts = 1
        self._count(sent=1)
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                data=urlencode(form) if form else ("" if method == "POST" else None),
                headers=headers,
                timeout=(min(self.config.connect_timeout, read_timeout), read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            if isinstance(exc, requests.ReadTimeout):
                self._count(timeouts=1)
            if read_timeout < self.config.read_timeout and isinstance(exc, requests.Timeout):
                failure = _Outcome(error=self._budget_spent(method, path), ambiguous=True)
                return failure
            # Classified here, raised by the caller outside this block: the requests
            # exception (whose frames hold the Authorization header) is not chained.
            failure = self._transport_failure(exc, method, path, self._call.attempts)
        attempts: int = self._call.attempts
        elapsed_ms = (time.monotonic() - started) * 1000
        if failure is not None:
            cause = failure.error.detail if failure.error else None
            logger.debug(_SENT, method, path, cause, elapsed_ms, attempts)
            return failure
        assert response is not None
        logger.debug(_SENT, method, path, response.status_code, elapsed_ms, attempts)
        return self._classify(response, method, path, attempts)

    def _budget_spent(self, method: str, path: str) -> UpstreamUnavailable:
        # Before a first attempt in this thread, `attempts` is not set yet.
        attempts = getattr(self._call, "attempts", 0)
        return upstream_budget.spent(method=method, path=path, attempts=attempts)

    def _transport_failure(
        self, exc: requests.RequestException, method: str, path: str, attempts: int
    ) -> _Outcome:
        detail = self._redact(f"{type(exc).__name__}: {exc}")[:300]
        not_sent = _was_not_sent(exc)
        if isinstance(exc, requests.ConnectTimeout):
            message = "Could not connect to Twilio in time"
        elif isinstance(exc, requests.ReadTimeout):
            message = f"Twilio did not answer within {self.config.read_timeout:g} s"
        elif isinstance(exc, requests.ConnectionError):
            message = (
                "Could not connect to Twilio" if not_sent else "The connection to Twilio was lost"
            )
        else:
            message = "The request to Twilio failed"
        error = UpstreamUnavailable(
            message, method=method, path=path, attempts=attempts, detail=detail
        )
        return _Outcome(
            error=error,
            ambiguous=not not_sent,
            may_still_run=not not_sent,
            timed_out=isinstance(exc, requests.ReadTimeout),
        )

    def _classify(
        self, response: requests.Response, method: str, path: str, attempts: int
    ) -> _Outcome:
        status = response.status_code
        payload = _json_or_none(response)
        if 200 <= status < 300:
            if isinstance(payload, dict):
                return _Outcome(data=payload)
            content_type = response.headers.get("Content-Type", "no content type")
            error: ServerlessError = UpstreamUnavailable(
                "Twilio sent a response that is not a JSON object",
                status=status,
                method=method,
                path=path,
                attempts=attempts,
                detail=f"{content_type[:60]}, {len(response.content)} bytes",
            )
            # The request was processed; only its answer is unreadable.
            return _Outcome(error=error, ambiguous=True)

        body = payload if isinstance(payload, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), int) else None
        twilio_message = body.get("message") if isinstance(body.get("message"), str) else None
        more_info = body.get("more_info") if isinstance(body.get("more_info"), str) else None
        fields: dict[str, Any] = {
            "status": status,
            "code": code,
            "more_info": more_info,
            "method": method,
            "path": path,
            "attempts": attempts,
        }
        if not isinstance(payload, dict):
            content_type = response.headers.get("Content-Type", "no content type")
            fields["detail"] = f"non-JSON error body: {content_type[:60]}"
        message = self._redact(twilio_message or f"HTTP {status} {response.reason or ''}".strip())

        if status == 401:
            error = AuthenticationFailed(message, **fields)
        elif status == 403:
            error = PermissionDenied(message, **fields)
        elif status == 404:
            error = NotFound(message, **fields)
        elif status == 409 and code == 20409:
            error = AlreadyDeployed(message, **fields)
        elif status == 429:
            retry_after = self._retry_policy.get_retry_after(response.raw) if response.raw else None
            error = RateLimited(message, retry_after=retry_after, **fields)
        elif 400 <= status < 500:
            error = InvalidRequest(message, **fields)
        else:
            error = UpstreamUnavailable(message, **fields)
        return _Outcome(
            error=error,
            ambiguous=not 400 <= status < 500,
            may_still_run=status in {502, 504},
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    # --- path helpers -----------------------------------------------------------------------

    def _deployments_path(self, service_sid: str, environment_sid: str) -> str:
        env = self._sid(environment_sid, "environment")
        return f"/v1/Services/{self._service(service_sid)}/Environments/{env}/Deployments"

    def _versions_path(
        self, service_sid: str, parent: Literal["Functions", "Assets"], parent_sid: str
    ) -> str:
        checked = self._sid(parent_sid, "function" if parent == "Functions" else "asset")
        return f"/v1/Services/{self._service(service_sid)}/{parent}/{checked}/Versions"

    @staticmethod
    def _sid(value: str, kind: str) -> str:
        if not is_sid(value, kind):
            shown = value[:40] if isinstance(value, str) else type(value).__name__
            raise InvalidRequest(f"{shown!r} is not a valid {kind} SID")
        return value

    @staticmethod
    def _service(value: str) -> str:
        """A Service SID or unique name as a path segment."""
        if not is_service_ref(value):
            shown = value[:40] if isinstance(value, str) else type(value).__name__
            raise InvalidRequest(f"{shown!r} is not a valid service SID or unique name")
        return quote(value, safe="")

    def _page_size(self, page_size: int | None) -> int:
        if page_size is None:
            return self.config.page_size_default
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise TypeError("page_size must be an int")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, not {page_size}")
        return page_size


# --- module helpers ---------------------------------------------------------------------

_pool_thread = threading.local()


def _mark_pool_thread() -> None:
    _pool_thread.active = True


@dataclass(frozen=True)
class _Raised:
    error: ServerlessError


def _call_captured(fn: Callable[[T], R], item: T) -> R | _Raised:
    # Typed failures are carried back as values so that every read finishes; anything
    # else is a bug and propagates.
    try:
        return fn(item)
    except ServerlessError as exc:
        return _Raised(exc)


def _log_background_failure(future: Future[object]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    result = None if error else future.result()
    if isinstance(result, _Raised):
        error = result.error
    if error is not None:
        logger.warning("A read-ahead failed: %r", error)


def _format_datetime(value: datetime, name: str) -> str:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _was_not_sent(exc: requests.RequestException) -> bool:
    """Whether the request certainly never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


# --- the process-wide client ------------------------------------------------------------

_client: ServerlessClient | None = None
_client_lock = threading.Lock()


def get_client() -> ServerlessClient:
    """The process-wide client, built from Django settings on first use."""
    global _client
    client = _client
    if client is not None:
        return client
    with _client_lock:
        if _client is None:
            _client = ServerlessClient(ClientConfig.from_settings())
        return _client


def reset_client() -> None:
    """Forget (and close) the process-wide client; the next get_client() builds a new one."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def _forget_client_after_fork() -> None:
    # A forked worker must not share the parent's sockets or pool threads.
    global _client
    _client = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_client_after_fork)


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # override_settings(TWILIO_...) in tests points the next get_client() at the new values.
    if setting.startswith("TWILIO_") or setting == "VERSION":
        reset_client()


try:
    from django.test.signals import setting_changed
except ImportError:  # pragma: no cover - Django is a dependency; keep the client importable
    pass
else:
    setting_changed.connect(_on_setting_changed, dispatch_uid="serverless-client-settings")
