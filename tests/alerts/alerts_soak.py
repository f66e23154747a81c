"""Soak and fault run of the Kafka alert path (issue #11), shared by tests/alerts and bench/test_soak.py.

:func:`run_soak` pushes real GCN fixtures, thousands of distinct variants of them and >= 20 %
poison (every poison class of issue #11 plus random byte mutations) through the real
confluent-kafka client on librdkafka's mock cluster, into listener *processes* that are killed
with SIGKILL at random moments; once, the disk of the store is "full" (ENOSPC simulated by
patching the file creation of :func:`icecore._io.atomic_write` in that listener process: no
tmpfs or loop device is needed). Afterwards it checks every good alert stored exactly once,
every poison message dead-lettered with its error, offsets committed to the end of every
partition, and the index consistent with the files, and returns the figures.

Run as a script, it is the listener process: ``python alerts_soak.py STORE BOOTSTRAP TOPIC GROUP
[--idle S] [--enospc-after N]``.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alerts_fixtures import NOTICES

GOLD_JSON = NOTICES[1]
LVK_JSON = NOTICES[0]
GOLD_XML = "voevent/amon_icecube_gold_190730_rev1.xml"
BRONZE_XML = "voevent/amon_icecube_bronze_190819_rev0.xml"
TEXT = "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt"
BINARY = "classic_binary/ICECUBE_CASCADE_IC240518A.bin"
PARTITIONS = 4  # the mock broker's default for an auto-created topic
#: the mock broker keeps only ~5 MB per partition (it silently drops older segments): spread the
#: messages over several topics
N_TOPICS = 4
#: Kafka settings of the soak: a killed member must leave the group quickly.
GROUP_SETTINGS = {"session.timeout.ms": 3000, "heartbeat.interval.ms": 500, "log_level": 0}

#: Poison classes of issue #11 that can travel as Kafka bytes (a circular dict cannot).
POISON_CLASSES = ("far_overflow", "energy_overflow_text", "energy_overflow_voevent", "revision_int64_json",
                  "revision_int64_voevent", "revision_int64_lvk", "quadratic_iso", "quadratic_src_ra",
                  "utf16le_dtd", "huge_int", "deep_json", "truncated", "random_bytes", "empty", "not_a_notice",
                  "mutation")


@dataclass
class SoakFigures:
    messages: int = 0
    good: int = 0
    distinct_good: int = 0
    poison: int = 0
    poison_fraction: float = 0.0
    poison_by_class: dict[str, int] = field(default_factory=dict)
    duplicates_sent: int = 0
    kills: int = 0
    enospc_events: int = 0
    listener_runs: int = 0
    lost: int = 0
    duplicated: int = 0
    poison_not_dead_lettered: int = 0
    good_dead_lettered: int = 0
    stalls: int = 0
    offsets_at_end: bool = False
    index_consistent: bool = False
    missing_raw: int = 0
    orphan_raw: int = 0
    stale_tmp_removed: int = 0
    wall_time_s: float = 0.0

    def line(self) -> str:
        d = asdict(self)
        d.pop("poison_by_class")
        return "  ".join(f"{k}={v}" for k, v in d.items())


# ---- the messages --------------------------------------------------------------------------------------------------


def _text_with(text: str, key: str, value: str) -> str:
    return "\n".join(f"{key}:{value}" if ln.startswith(key + ":") else ln for ln in text.splitlines())


def _poison(cls: str, notices: dict[str, bytes], rng: random.Random, i: int) -> bytes:
    gold = json.loads(notices[GOLD_JSON])
    text = notices[TEXT].decode()
    xml = notices[BRONZE_XML].decode()
    if cls == "far_overflow":
        return json.dumps(dict(gold, id=[f"1{i}_{i}"], far=10.0 ** rng.uniform(301, 307))).encode()
    if cls == "energy_overflow_text":
        return _text_with(text, "ENERGY", f"           {rng.uniform(1, 9):.3f}e308 [PeV]").encode()
    if cls == "energy_overflow_voevent":
        j = xml.index('name="energy"')
        return (xml[:j] + f'name="energy" value="{rng.uniform(1, 9):.3f}e307" unit="PeV" '
                + xml[xml.index("/>", j):]).encode()
    if cls == "revision_int64_json":
        return json.dumps(dict(gold, id=[f"2{i}_{i}"], record_number=2**63 + rng.randrange(10**6))).encode()
    if cls == "revision_int64_voevent":
        k = xml.index('name="Rev"')
        v = xml.index('value="', k) + 7
        return (xml[:v] + str(9223372036854775808 + i) + xml[xml.index('"', v):]).encode()
    if cls == "revision_int64_lvk":
        lvk = json.loads(notices[LVK_JSON])
        lvk["reference"] = {"gcn.notices.LVK.alert": 2**64 + i}
        return json.dumps(lvk).encode()
    if cls == "quadratic_iso":
        return json.dumps(dict(gold, trigger_time="2023-04-16T05:22:26Z" + " " * rng.randrange(20_000, 40_000)
                               + "x")).encode()
    if cls == "quadratic_src_ra":
        return _text_with(text, "SRC_RA", " " + "1" * rng.randrange(20_000, 40_000) + "x").encode()
    if cls == "utf16le_dtd":
        body = xml.split("?>", 1)[1].replace("<Description>", f"<Description>&x{i};", 1)
        return (f'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY x{i} "INJECTED">]>' + body).encode("utf-16-le")
    if cls == "huge_int":
        return notices[GOLD_JSON].decode().replace('"record_number": 1', '"record_number": '
                                                   + "7" * rng.randrange(4400, 9000)).encode()
    if cls == "deep_json":
        depth = rng.randrange(2_000, 12_000)
        return b"[" * depth + b"]" * depth
    if cls == "truncated":
        raw = notices[rng.choice([GOLD_XML, BRONZE_XML, GOLD_JSON, LVK_JSON])]
        return raw[: rng.randrange(1, len(raw) // 2)] + str(i).encode()
    if cls == "random_bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if cls == "empty":
        return b" " * (i % 7)
    if cls == "not_a_notice":
        return json.dumps({"hello": "world", "n": i}).encode()
    raise ValueError(cls)


def _mutation(notices: dict[str, bytes], rng: random.Random) -> bytes:
    raw = bytearray(notices[rng.choice(NOTICES)])
    for _ in range(rng.randrange(1, 6)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def _good(notices: dict[str, bytes], rng: random.Random, i: int) -> bytes:
    """A distinct, valid notice: a fixture with new identifiers (or a fixture itself)."""
    kind = i % 7
    if kind == 0:
        d = dict(json.loads(notices[GOLD_JSON]), id=[f"{130000 + i % 9000}_{10_000_000 + i}"],
                 event_name=[f"IceCube-{230000 + i % 9999:06d}{'ABC'[i % 3]}"], record_number=1 + i % 3)
        return json.dumps(d).encode()
    if kind == 1:
        d = json.loads(notices[LVK_JSON])
        ref = f"S{230000 + i % 9999:06d}{chr(97 + i % 26)}{chr(97 + (i // 26) % 26)}"
        d["ref_ID"] = ref
        d["reference"] = {"gcn.notices.LVK.alert": f"{ref}-{1 + i % 3}-Preliminary"}
        return json.dumps(d).encode()
    if kind == 2:
        return notices[GOLD_XML].decode().replace("57145925", f"{20_000_000 + i}").encode()
    if kind == 3:
        return notices[TEXT].decode().replace("14780365", f"{30_000_000 + i}").encode()
    if kind == 4:
        w = list(struct.unpack(">40i", notices[BINARY]))
        w[4] = w[15] = 40_000_000 + i
        return struct.pack(">40i", *w)
    if kind == 5:  # names that sanitise alike: each is its own event (issue #11.10)
        name = rng.choice(["..", ".", "\u2025", "_", "a/b", "a_b", "A" * 150 + str(i), "A" * 150 + "~" + str(i)])
        d = json.loads(notices[GOLD_JSON])
        d.pop("id")
        d["event_name"] = [name]
        d["record_number"] = 1 + i
        return json.dumps(d).encode()
    return notices[rng.choice(NOTICES)]  # the real fixtures themselves (repeats are duplicates)


def classify(raw: bytes) -> tuple[bool, str]:
    """(good, error): what the pipeline must do with ``raw`` (parse + record + JSON, no disk)."""
    from icecore.alerts import parse, process
    from icecore.errors import ParseError

    try:
        rec = process(parse(raw)).record
        json.dumps(rec, allow_nan=False)
    except ParseError as exc:
        return False, str(exc)
    except Exception as exc:  # noqa: BLE001 - processing errors are dead-lettered as well
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def build_messages(notices: dict[str, bytes], n: int, *, poison_fraction: float = 0.25,
                   seed: int = 0) -> list[tuple[bytes, str]]:
    """``n`` (raw, class) in random order: good variants, repeats of them, every poison class."""
    rng = random.Random(seed)
    out: list[tuple[bytes, str]] = []
    n_poison = int(round(n * poison_fraction))
    for j in range(n_poison):
        cls = POISON_CLASSES[j % len(POISON_CLASSES)]
        raw = _mutation(notices, rng) if cls == "mutation" else _poison(cls, notices, rng, j)
        out.append((raw, cls))
    i = 0
    while len(out) < n:
        if out and rng.random() < 0.05:  # re-sent message: stored once
            raw, cls = rng.choice(out)
            out.append((raw, "duplicate" if cls in ("good", "duplicate") else cls))
            continue
        out.append((_good(notices, rng, i), "good"))
        i += 1
    rng.shuffle(out)
    return out


# ---- the listener process ------------------------------------------------------------------------------------------


def _listener_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("group")
    ap.add_argument("--idle", type=float, default=None)
    ap.add_argument("--enospc-after", type=int, default=None)
    a = ap.parse_args(argv)
    from icecore import _io
    from icecore.alerts import listen

    if a.enospc_after is not None:  # the disk fills up after N more files, for a moment
        real, calls = _io._create_temporary, [0]

        def full(path):
            calls[0] += 1
            if a.enospc_after < calls[0] <= a.enospc_after + 50:
                raise OSError(errno.ENOSPC, "No space left on device (simulated)")
            return real(path)

        _io._create_temporary = full
    cfg = {"bootstrap.servers": a.bootstrap, "security.protocol": "plaintext", **GROUP_SETTINGS}
    stats = listen(a.store, a.topic.split(","), group_id=a.group, config=cfg, idle_timeout=a.idle, poll_timeout=0.2,
                   broker_timeout=30.0)
    print(json.dumps({k: v for k, v in vars(stats).items() if k != "paths"}), flush=True)
    return 0


# ---- the run -------------------------------------------------------------------------------------------------------


def _spawn(store: Path, bootstrap: str, topic: str, group: str, *, idle: float | None = None,
           enospc_after: int | None = None, log: Any = None) -> subprocess.Popen:
    import icecore

    pkg = str(Path(icecore.__file__).resolve().parents[1])
    here = Path(__file__).resolve().parent
    paths = [pkg, str(here), str(here.parent), os.environ.get("PYTHONPATH", "")]  # tests/ holds helpers/
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    cmd = [sys.executable, str(Path(__file__).resolve()), str(store), bootstrap, topic, group]
    if idle is not None:
        cmd += ["--idle", str(idle)]
    if enospc_after is not None:
        cmd += ["--enospc-after", str(enospc_after)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL)


def _committed(ck: Any, bootstrap: str, topic: str, group: str) -> tuple[int, int]:
    """(sum of committed offsets, sum of high watermarks) of the group on the topics (comma-separated)."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                     "log_level": 0})
    try:
        tps = [ck.TopicPartition(t, p) for t in topic.split(",") for p in range(PARTITIONS)]
        done = sum(max(tp.offset, 0) for tp in c.committed(tps, timeout=10))
        end = sum(c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps)
    finally:
        c.close()
    return done, end


def _check_nothing_dropped(ck: Any, bootstrap: str, topics: list[str], n: int) -> None:
    """The mock broker caps the bytes kept per partition and silently drops the oldest: refuse such a run."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "soak-check", "log_level": 0})
    try:
        marks = [c.get_watermark_offsets(ck.TopicPartition(t, p), timeout=10) for t in topics
                 for p in range(PARTITIONS)]
    finally:
        c.close()
    assert all(lo == 0 for lo, _ in marks) and sum(hi for _, hi in marks) == n, f"broker dropped messages: {marks}"


def _records(store_dir: Path) -> int:
    d = store_dir / "records"
    return sum(1 for p in d.iterdir() if p.name.endswith(".json")) if d.is_dir() else 0


def run_soak(notices: dict[str, bytes], workdir: Path, *, n_messages: int = 10_000, kills: int = 20,
             poison_fraction: float = 0.25, seed: int = 0, log: Any = None) -> SoakFigures:
    """Run the soak; returns the figures (the caller asserts on them)."""
    import confluent_kafka as ck

    t_start = time.monotonic()
    rng = random.Random(seed + 1)
    fig = SoakFigures()
    msgs = build_messages(notices, n_messages, poison_fraction=poison_fraction, seed=seed)
    expect_good: dict[str, bytes] = {}
    expect_poison: dict[str, tuple[bytes, str]] = {}
    for raw, cls in msgs:
        good, why = classify(raw)
        sha = hashlib.sha256(raw).hexdigest()
        if cls not in ("good", "duplicate", "mutation"):
            assert not good, f"poison class {cls} parsed as a good alert"
        if cls in ("good", "duplicate"):
            assert good, f"a good message does not parse: {why}"
        if good:
            expect_good[sha] = raw
            fig.good += 1
        else:
            expect_poison[sha] = (raw, cls)
            fig.poison += 1
            fig.poison_by_class[cls] = fig.poison_by_class.get(cls, 0) + 1
        fig.duplicates_sent += cls == "duplicate"
    fig.messages, fig.distinct_good = len(msgs), len(expect_good)
    fig.poison_fraction = round(fig.poison / fig.messages, 3)

    owner = ck.Producer({"test.mock.num.brokers": 1, "log_level": 0})
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in owner.list_topics(timeout=10).brokers.values())
    topics, group = [f"soak-{seed}-{os.getpid()}-{j}" for j in range(N_TOPICS)], f"soak-group-{seed}"
    topic = ",".join(topics)
    prod = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 0,
                        "message.max.bytes": 2_000_000})
    for k, (raw, _) in enumerate(msgs):
        prod.produce(topics[(k // PARTITIONS) % N_TOPICS], value=raw, partition=k % PARTITIONS)
        if k % 1000 == 999:
            prod.flush(30)
    assert prod.flush(60) == 0
    _check_nothing_dropped(ck, bootstrap, topics, len(msgs))
    store_dir = workdir / "store"
    enospc_run = rng.randrange(1, max(2, kills))
    try:
        # phase 1: SIGKILL the listener at random moments
        while fig.kills < kills:
            enospc = fig.listener_runs == enospc_run and fig.enospc_events == 0
            before = _committed(ck, bootstrap, topic, group)[0]
            if before >= len(msgs):
                break
            proc = _spawn(store_dir, bootstrap, topic, group, enospc_after=rng.randrange(3, 30) if enospc else None,
                          log=log)
            fig.listener_runs += 1
            t0, n0 = time.monotonic(), _records(store_dir)
            while time.monotonic() - t0 < 30 and _records(store_dir) == n0 and proc.poll() is None:
                time.sleep(0.01)  # wait until it works (joined its group, stores)...
            if enospc:  # the listener must stop by itself on the full disk (StorageError, no commit)
                proc.communicate(timeout=120)
                fig.enospc_events += proc.returncode != 0
                continue
            if proc.poll() not in (None, 0):  # died by itself (not killed, no full disk): a broken listener
                raise RuntimeError(f"soak listener exited with {proc.returncode} before it was killed (stderr: {log or 'not captured, pass log='})")
            if fig.listener_runs > 10 * kills + 10:
                raise RuntimeError(f"soak: {fig.listener_runs} listener runs for {kills} kills")
            # ...then kill it somewhere in the middle of its work: after a random time of up to 1.5 s, or
            # earlier once it has stored a random share of what is left for the kills still to come (a fast
            # machine must not finish every message before the last kill)
            share = max(2, (len(msgs) - before) // (2 * (kills - fig.kills + 1)))
            target, deadline = _records(store_dir) + rng.randrange(1, share), time.monotonic() + rng.uniform(0.0, 1.5)
            while time.monotonic() < deadline and _records(store_dir) < target and proc.poll() is None:
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                fig.kills += 1
            proc.wait(30)
            proc.communicate()
            if _committed(ck, bootstrap, topic, group)[0] == before and before < len(msgs) and not enospc:
                fig.stalls += 1
        # phase 2: run to the end
        for _ in range(5):
            done, end = _committed(ck, bootstrap, topic, group)
            if done >= end:
                break
            proc = _spawn(store_dir, bootstrap, topic, group, idle=4.0, log=log)
            fig.listener_runs += 1
            proc.communicate(timeout=1800)
            if _committed(ck, bootstrap, topic, group)[0] == done:
                fig.stalls += 1
        done, end = _committed(ck, bootstrap, topic, group)
        fig.offsets_at_end = done == end == len(msgs)
    finally:
        del prod, owner
    _check_store(store_dir, expect_good, expect_poison, fig)
    fig.wall_time_s = round(time.monotonic() - t_start, 1)
    return fig


def _check_store(store_dir: Path, expect_good: dict[str, bytes], expect_poison: dict[str, tuple[bytes, str]],
                 fig: SoakFigures) -> None:
    from icecore.alerts import AlertStore

    store = AlertStore(store_dir)
    fig.stale_tmp_removed = store.clean_temporary(older_than_s=0)  # every writer is dead now
    shas: dict[str, int] = {}
    for p in store.records_dir.glob("*.json"):
        rec = json.loads(p.read_text())
        shas[rec["raw_sha256"]] = shas.get(rec["raw_sha256"], 0) + 1
        raw = p.with_suffix(".raw")
        if not raw.exists() or hashlib.sha256(raw.read_bytes()).hexdigest() != rec["raw_sha256"]:
            fig.missing_raw += 1
    fig.lost = sum(1 for s in expect_good if s not in shas)
    fig.duplicated = sum(n - 1 for n in shas.values() if n > 1)
    fig.good_dead_lettered = sum(1 for s in shas if s not in expect_good)
    dead = {d["raw_sha256"]: d for d in store.dead_letters()}
    fig.poison_not_dead_lettered = sum(
        1 for s in expect_poison
        if s not in dead or not dead[s].get("error") or not (store.dead_letter_dir / (s[:16] + ".raw")).exists())
    indexed = {r["file"] for r in store.list(primary_only=False)}
    files = {p.name for p in store.records_dir.glob("*.json")}
    n = store.reindex()
    report = store.last_reindex
    fig.orphan_raw = len(report.orphan_raw) if report else 0
    fig.index_consistent = indexed == files and n == len(files) and not (report and report.corrupt)


if __name__ == "__main__":
    sys.exit(_listener_main(sys.argv[1:]))
