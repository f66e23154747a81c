"""The realtime service: sky scans as a service and alert follow-up orchestration.

- :class:`ServiceConfig` (:mod:`.config`) and :class:`Service` (:mod:`.runtime`): one process with
  its database (:mod:`.db`: SQLite default, PostgreSQL), products (:mod:`.products`), scans
  (:mod:`.scans`: persisted state machine, resumable after SIGKILL, in-process or RabbitMQ) and the
  alert orchestrator (:mod:`.orchestrate`: Kafka listener -> plan -> products);
- :func:`create_app` (:mod:`.api`): the HTTP API (FastAPI, OpenAPI at ``/openapi.json``) and the
  dashboard page; ``icecore serve`` (:mod:`.cli`) runs it with uvicorn.
"""

from __future__ import annotations

from typing import Any

from .config import ServiceConfig

__all__ = ["ServiceConfig", "Service", "create_app"]


def __getattr__(name: str) -> Any:  # lazy: keep ``import icecore.service`` light
    if name == "Service":
        from .runtime import Service

        return Service
    if name == "create_app":
        from .api import create_app

        return create_app
    raise AttributeError(f"module 'icecore.service' has no attribute {name!r}")
