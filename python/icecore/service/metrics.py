"""In-process counters and latency summaries for the ``/api/metrics`` endpoint."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

__all__ = ["Metrics"]


class Metrics:
    """Request counts and latency quantiles per route (the last ``window`` requests of each)."""

    def __init__(self, window: int = 2000) -> None:
        self.window = int(window)
        self.started = time.time()
        self._lock = threading.Lock()
        self._lat: dict[str, deque[float]] = {}
        self._count: dict[str, int] = {}
        self._status: dict[int, int] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._lat.setdefault(route, deque(maxlen=self.window)).append(seconds)
            self._count[route] = self._count.get(route, 0) + 1
            self._status[status] = self._status.get(status, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            routes = {}
            for r, d in self._lat.items():
                a = np.asarray(d)
                routes[r] = {"count": self._count[r], "p50_ms": round(float(np.percentile(a, 50)) * 1e3, 3),
                             "p99_ms": round(float(np.percentile(a, 99)) * 1e3, 3),
                             "max_ms": round(float(a.max()) * 1e3, 3)}
            return {"uptime_s": round(time.time() - self.started, 3), "requests": sum(self._count.values()),
                    "responses_by_status": {str(k): v for k, v in sorted(self._status.items())}, "routes": routes}
