"""RabbitMQ scan workers (``icecore scan worker``) as subprocesses, for tests/scan and tests/service.

:func:`amqp_url_or_skip` reads ICECORE_AMQP_URL (in CI a missing URL is a failure, elsewhere a
skip); :func:`start_worker` / :func:`stop_workers` run and stop worker processes;
:func:`delete_queue` removes a test queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["amqp_url_or_skip", "start_worker", "stop_workers", "delete_queue", "worker_env"]


def amqp_url_or_skip(*, check_connection: bool = False) -> str:
    """ICECORE_AMQP_URL, or skip (fail in CI, where .ci/run starts RabbitMQ)."""
    url = os.environ.get("ICECORE_AMQP_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ICECORE_AMQP_URL is not set in CI: .ci/run should have started RabbitMQ")
        pytest.skip("RabbitMQ not available: set ICECORE_AMQP_URL (e.g. amqp://guest:guest@localhost:5672/%2F)")
    pika = pytest.importorskip("pika")
    if check_connection:
        try:
            pika.BlockingConnection(pika.URLParameters(url)).close()
        except Exception as exc:
            pytest.skip(f"RabbitMQ at ICECORE_AMQP_URL unreachable: {type(exc).__name__}")
    return url


def worker_env() -> dict[str, str]:
    """The environment of a child process that imports this checkout's icecore."""
    import icecore

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(icecore.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start_worker(url: str, queue: str, *extra: str, idle_timeout: float = 60.0,
                 stderr: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """One ``icecore scan worker`` process on ``queue`` (prefetch 2, one thread)."""
    return subprocess.Popen([sys.executable, "-m", "icecore", "scan", "worker", "--amqp", url, "--queue", queue,
                             "--prefetch", "2", "--threads", "1", "--idle-timeout", f"{idle_timeout:g}", *extra],
                            env=worker_env(), stdout=subprocess.DEVNULL, stderr=stderr)


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL after 10 s; closes their stderr pipes."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stderr is not None:  # the pipe would be left for the garbage collector (ResourceWarning)
            p.stderr.close()


def delete_queue(url: str, queue: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        conn.channel().queue_delete(queue=queue)
    finally:
        conn.close()
