"""Twilio's two limits: concurrent requests and requests per second."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Throttle:
    def __init__(
        self, *, max_concurrency: int | None = None, rate_limit_per_second: float | None = None
    ) -> None:
        self.max_concurrency = max_concurrency
        self.rate_limit_per_second = rate_limit_per_second
        self._lock = threading.Lock()
        self._in_flight = 0
        self._recent: deque[float] = deque()

    @contextmanager
    def admit(self) -> Iterator[str | None]:
        """Yield None when admitted (holding a slot), else why not."""
        refusal = self._enter()
        try:
            yield refusal
        finally:
            if refusal is None:
                with self._lock:
                    self._in_flight -= 1

    def _enter(self) -> str | None:
        with self._lock:
            if self.max_concurrency is not None and self._in_flight >= self.max_concurrency:
                return f"Too many concurrent requests (limit {self.max_concurrency})"
            if self.rate_limit_per_second is not None:
                # Sliding one-second window over admitted requests.
                now = time.monotonic()
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.rate_limit_per_second:
                    return f"Too many requests (limit {self.rate_limit_per_second:g} per second)"
                self._recent.append(now)
            self._in_flight += 1
            return None

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight
