"""listen()/replay() against confluent-kafka's in-process mock cluster (real broker protocol)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alerts_fixtures import NOTICES

import icecore
from helpers.kafka_mock import local_config, mock_cluster
from icecore.alerts import AlertStore
from icecore.errors import InputError

ck = pytest.importorskip("confluent_kafka")
pytest.importorskip("gcn_kafka")
from icecore.alerts.kafka import consumer_config, listen, replay  # noqa: E402

GOLD_BRONZE = "gcn.notices.icecube.gold_bronze_track_alerts"
LVK = "gcn.notices.icecube.lvk_nu_track_search"
CLASSIC = "gcn.classic.voevent.ICECUBE_ASTROTRACK_GOLD"


@pytest.fixture(scope="module")
def cluster():
    """(bootstrap servers, producer) of a one-broker mock cluster living as long as the module."""
    with mock_cluster() as c:
        yield c


_local = local_config  # the old name (other tests import it from here)


def _stream(notices, n_variants):
    """(topic, bytes) of the real fixtures, n distinct bronze variants and one bad message."""
    out = []
    for name, raw in notices.items():
        if name == NOTICES[0] or name == NOTICES[4]:
            out.append((LVK, raw))
        elif name.endswith(".json") and "gold_bronze" in name:
            out.append((GOLD_BRONZE, raw))
        else:
            out.append((CLASSIC, raw))
    base = json.loads(notices[NOTICES[1]])
    for i in range(n_variants):
        d = dict(base, id=[f"137840_{57034692 + 1 + i}"], event_name=[f"IceCube-2304{i:04d}"])
        out.append((GOLD_BRONZE, json.dumps(d).encode()))
    out.append((GOLD_BRONZE, b'{"truncated": '))
    return out


def _produce(prod, topic_prefix, stream, t0_ms=None):
    topics = set()
    for i, (topic, raw) in enumerate(stream):
        t = f"{topic_prefix}.{topic}"
        topics.add(t)
        kw = {} if t0_ms is None else {"timestamp": t0_ms + 1000 * i}
        prod.produce(t, value=raw, partition=i % 4, **kw)
    assert prod.flush(10) == 0
    return sorted(topics)


def _check_exactly_once(store: AlertStore, stream):
    """Every distinct message is stored exactly once; the bad one is dead-lettered once."""
    from icecore.alerts import parse

    want = {}
    for _, raw in stream[:-1]:
        a = parse(raw)
        want.setdefault(a.raw_sha256, a)
    recs = [json.loads(p.read_text()) for p in store.records_dir.glob("*.json")]
    shas = [r["raw_sha256"] for r in recs]
    assert len(shas) == len(set(shas)), "a message was stored twice"
    assert set(shas) == set(want), "a message is missing"
    assert len(store.list(primary_only=False)) == len(want)
    assert len(store.dead_letters()) == 1


def test_credentials_and_group_id(monkeypatch, tmp_path):
    monkeypatch.delenv("GCN_CLIENT_ID", raising=False)
    monkeypatch.delenv("GCN_CLIENT_SECRET", raising=False)
    with pytest.raises(InputError, match="GCN_CLIENT_ID"):
        consumer_config(group_id="g")
    monkeypatch.setenv("GCN_CLIENT_ID", "my-id")
    monkeypatch.setenv("GCN_CLIENT_SECRET", "my-secret")
    cfg, cid, secret = consumer_config(group_id="g", config={"enable.auto.commit": True})
    assert (cid, secret) == ("my-id", "my-secret")
    assert cfg["group.id"] == "g" and cfg["enable.auto.commit"] is False
    assert "bootstrap.servers" not in cfg  # gcn-kafka fills in kafka.gcn.nasa.gov + OAuth
    with pytest.raises(InputError, match="group_id"):
        listen(tmp_path, group_id="")


def test_production_config_goes_to_gcn_with_oauth(monkeypatch):
    """What gcn-kafka builds from our settings (no network): GCN servers, OIDC, our group id."""
    from gcn_kafka.core import get_config

    monkeypatch.setenv("GCN_CLIENT_ID", "my-id")
    monkeypatch.setenv("GCN_CLIENT_SECRET", "my-secret")
    cfg, cid, secret = consumer_config(group_id="pipeline-1")
    full = get_config("consumer", cfg, client_id=cid, client_secret=secret, domain=None)
    assert full["bootstrap.servers"] == "kafka.gcn.nasa.gov"
    assert full["sasl.oauthbearer.client.id"] == "my-id" and full["sasl.mechanisms"] == "OAUTHBEARER"
    assert full["group.id"] == "pipeline-1" and full["enable.auto.commit"] is False
    monkeypatch.delenv("GCN_CLIENT_ID")
    local, cid, _ = consumer_config(group_id="g", config={"bootstrap.servers": "127.0.0.1:9092",
                                                           "security.protocol": "plaintext"})
    full = get_config("consumer", local, client_id=cid, client_secret=None, domain=None)
    assert cid is None and "sasl.mechanisms" not in full and full["security.protocol"] == "plaintext"


class _FakeMsg:
    def __init__(self, value, offset):
        self._v, self._o = value, offset

    def value(self):
        return self._v

    def offset(self):
        return self._o

    def topic(self):
        return GOLD_BRONZE

    def partition(self):
        return 0

    def timestamp(self):
        return (1, 0)

    def error(self):
        return None


def test_storage_failure_is_not_committed(monkeypatch, notices, tmp_path):
    """A store that fails (disk full...) stops the listener before the offset is committed."""
    from icecore.alerts import kafka as kmod
    from icecore.errors import StorageError

    msgs = [_FakeMsg(v, i) for i, (_, v) in enumerate(_stream(notices, 3)[-4:])]
    committed = []

    class FakeConsumer:
        def __init__(self, *a):
            self.queue = list(msgs)

        def subscribe(self, topics, on_assign=None):
            on_assign(self, [])

        def poll(self, timeout):
            return self.queue.pop(0) if self.queue else None

        def commit(self, message, asynchronous):
            assert asynchronous is False
            committed.append(message.offset())

        def close(self):
            pass

    class FailingStore(AlertStore):
        def store(self, alert, **kw):
            if alert.event_id == 57034694:
                raise StorageError("disk full")
            return super().store(alert, **kw)

    monkeypatch.setattr(kmod, "_make_consumer", lambda *a: FakeConsumer())
    store = FailingStore(tmp_path)
    with pytest.raises(StorageError):
        listen(store, [GOLD_BRONZE], group_id="g", config={"bootstrap.servers": "x:1"}, handle_signals=False)
    assert committed == [0]  # message 1 failed: neither it nor anything after it was committed
    assert len(store) == 1


def test_listen_stop_event_then_restart(cluster, notices, tmp_path):
    bootstrap, prod = cluster
    stream = _stream(notices, 40)
    topics = _produce(prod, "t1", stream)
    store = AlertStore(tmp_path / "store")
    stop = threading.Event()
    seen = []

    def on_stored(result, msg):
        seen.append(msg.offset())
        if len(seen) == 15:
            stop.set()

    first = listen(store, topics, group_id="icecore-test-1", config=_local(bootstrap), stop=stop,
                   handle_signals=False, on_stored=on_stored, poll_timeout=0.2)
    assert first.stopped_by == "stop_event" and first.received == 15
    second = listen(store, topics, group_id="icecore-test-1", config=_local(bootstrap),
                    handle_signals=False, idle_timeout=2.0, poll_timeout=0.2)
    # committed offsets were honoured: the restart read only the rest
    assert first.received + second.received == len(stream)
    _check_exactly_once(store, stream)


def _spawn_listener(store_dir, topics, group, bootstrap):
    pkg_root = str(Path(icecore.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=pkg_root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("GCN_CLIENT_ID", None)
    cmd = [sys.executable, "-m", "icecore", "alerts", "listen", "--store", str(store_dir), "--group-id", group,
           "--bootstrap-servers", bootstrap, "--json", "-X", "session.timeout.ms=3000",
           "-X", "heartbeat.interval.ms=500", "-X", "log_level=3"]
    for t in topics:
        cmd += ["--topic", t]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_records(store_dir, n, proc, timeout=60):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        d = Path(store_dir) / "records"
        k = len(list(d.glob("*.json"))) if d.is_dir() else 0
        if k >= n:
            return k
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.005)
    raise AssertionError("listener stored too little in time")


def test_listener_killed_mid_stream_then_restarted(cluster, notices, tmp_path):
    bootstrap, prod = cluster
    stream = _stream(notices, 400)
    topics = _produce(prod, "t2", stream)
    store_dir = tmp_path / "store"
    proc = _spawn_listener(store_dir, topics, "icecore-test-2", bootstrap)
    try:
        _wait_for_records(store_dir, 25, proc)
        proc.send_signal(signal.SIGKILL)  # no clean shutdown, no final commit
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # close the pipes of the killed process
    killed_at = len(list((store_dir / "records").glob("*.json")))
    assert killed_at < len(stream) - 1, "listener finished before it could be killed"
    store = AlertStore(store_dir)
    stats = listen(store, topics, group_id="icecore-test-2", config=_local(bootstrap),
                   handle_signals=False, idle_timeout=2.0, poll_timeout=0.2)
    assert stats.received < len(stream)  # resumed from the committed offsets
    _check_exactly_once(store, stream)
    for p in (store_dir / "records").glob("*.json"):  # no partial file survived the kill
        json.loads(p.read_text())


def test_sigterm_stops_cleanly(cluster, notices, tmp_path):
    bootstrap, prod = cluster
    topics = _produce(prod, "t3", _stream(notices, 0)[:3])
    proc = _spawn_listener(tmp_path / "s", topics, "icecore-test-3", bootstrap)
    try:
        _wait_for_records(tmp_path / "s", 3, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["stopped_by"] == "SIGTERM" and stats["received"] == 3


class _TimeIndexedConsumer:
    """A real confluent Consumer on the mock cluster whose offsets_for_times is computed by
    reading the partition, because the mock broker does not implement timestamp look-ups
    (librdkafka issue #4755: it answers -1 for every partition). Records every call."""

    def __init__(self, cfg, *_):
        self._c = ck.Consumer(cfg)
        self._cfg = cfg
        self.calls = []
        self._idx = {}
        _TimeIndexedConsumer.last = self

    def __getattr__(self, name):
        return getattr(self._c, name)

    def _index(self, topic):
        """(partition, offset, timestamp) of every message of a topic, read once."""
        if topic not in self._idx:
            scan = ck.Consumer(dict(self._cfg, **{"group.id": "scan", "enable.partition.eof": True,
                                                  "fetch.wait.max.ms": 10}))
            parts = sorted(scan.list_topics(topic, timeout=10).topics[topic].partitions)
            scan.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
            rows, eof = [], set()
            while len(eof) < len(parts):
                m = scan.poll(5)
                assert m is not None, "scan timed out"
                if m.error():
                    eof.add(m.partition())
                else:
                    rows.append((m.partition(), m.offset(), m.timestamp()[1]))
            scan.close()
            self._idx[topic] = rows
        return self._idx[topic]

    def offsets_for_times(self, tps, timeout=None):
        self.calls.append(sorted((tp.topic, tp.partition) for tp in tps))
        out = []
        for tp in tps:
            hits = [o for p, o, ts in self._index(tp.topic) if p == tp.partition and ts >= tp.offset]
            out.append(ck.TopicPartition(tp.topic, tp.partition, min(hits) if hits else -1))
        return out


def test_replay_reads_all_partitions(cluster, notices, tmp_path):
    from astropy.time import Time

    bootstrap, prod = cluster
    stream = _stream(notices, 20)
    t0 = int(Time("2024-01-01T00:00:00", scale="utc").unix * 1000)
    topics = _produce(prod, "t4", stream, t0_ms=t0)
    # window = messages 5..24 (timestamps t0 + 1000 i), spread round-robin over 4 partitions
    start = Time((t0 + 5000) / 1000, format="unix", scale="utc")
    end = Time((t0 + 25000) / 1000, format="unix", scale="utc")
    store = AlertStore(tmp_path)
    stats = replay(start, end, topics, store=store, config=_local(bootstrap), timeout=30,
                   consumer_factory=_TimeIndexedConsumer)
    assert stats.received == 20 and stats.stopped_by == "window_done"
    # offsets_for_times was asked about every partition of every topic, for both window ends
    calls = _TimeIndexedConsumer.last.calls
    assert len(calls) == 2 * len(topics) and all(len(c) == 4 for c in calls)
    from icecore.alerts import parse

    want = {parse(raw).raw_sha256 for _, raw in stream[5:25]}
    got = {json.loads(p.read_text())["raw_sha256"] for p in store.records_dir.glob("*.json")}
    assert got == want
    assert {int(json.loads(p.read_text())["raw_sha256"] in want) for p in store.records_dir.glob("*.json")} == {1}
    empty = replay(Time("2023-01-01"), Time("2023-01-02"), topics, store=store, config=_local(bootstrap),
                   timeout=30, consumer_factory=_TimeIndexedConsumer)
    assert empty.received == 0 and empty.stopped_by == "empty_window"
