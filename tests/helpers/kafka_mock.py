"""confluent-kafka's in-process mock cluster (the real broker protocol, no broker to install).

Used by tests/alerts, tests/service (and tests/lvk): ``mock_cluster()`` yields ``(bootstrap,
producer)``; :func:`local_config` is the consumer configuration for it; :func:`wait_for` polls a
condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["mock_cluster", "local_config", "wait_for", "produce_all"]


@contextmanager
def mock_cluster(num_brokers: int = 1) -> Iterator[tuple[str, Any]]:
    """(bootstrap servers, producer) of a mock cluster living as long as the ``with`` block."""
    import confluent_kafka as ck

    owner = ck.Producer({"test.mock.num.brokers": num_brokers, "log_level": 3})
    md = owner.list_topics(timeout=10)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
    prod = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 3,
                        "message.max.bytes": 4_000_000})
    try:
        yield bootstrap, prod
    finally:
        prod.flush(5)
        del prod  # before the cluster owner, so nothing reconnects to a closed broker
        del owner


def local_config(bootstrap: str) -> dict[str, Any]:
    """Consumer settings for the mock cluster.

    The mock broker keeps a closed member until its session times out: keep that short.
    """
    return {"bootstrap.servers": bootstrap, "security.protocol": "plaintext", "log_level": 3,
            "session.timeout.ms": 3000, "heartbeat.interval.ms": 500}


def produce_all(prod: Any, topic: str, values: list[bytes], partition: int = 0) -> None:
    """Produce ``values`` in order to one partition and wait until all are delivered."""
    for v in values:
        prod.produce(topic, value=v, partition=partition)
    assert prod.flush(10) == 0


def wait_for(pred: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> None:
    """Poll ``pred()`` until it is true; TimeoutError after ``timeout`` seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")
