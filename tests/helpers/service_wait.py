"""Waiting for a service (icecore.service.Service) to finish its work, for tests/service and bench."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["settle"]


def settle(svc: Any, timeout: float = 60.0) -> None:
    """Wait until no plan step is pending/running/waiting and no scan is queued/running."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c = svc.orchestrator.counts()["steps_by_status"]
        q = svc.scans.queue_depth()
        busy = c.get("pending") or c.get("running") or c.get("waiting") or q["queued"] or q["running"]
        if not busy:
            return
        time.sleep(0.05)
    raise TimeoutError(svc.orchestrator.counts())
