"""Issue #11, alert store: injective names, concurrent writers, crashes, read-only and full disks, umask."""

from __future__ import annotations

import errno
import importlib
import json
import multiprocessing as mp
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from alerts_fixtures import NOTICES

from icecore import _io
from icecore.alerts import AlertStore, ingest, parse
from icecore.alerts.store import file_stem
from icecore.errors import StorageError

GOLD_JSON = NOTICES[1]
process_mod = importlib.import_module("icecore.alerts.process")
GOLD_XML = "voevent/amon_icecube_gold_190730_rev1.xml"


def _named(notices, name, rev=1):
    d = json.loads(notices[GOLD_JSON])
    d.pop("id")
    d["event_name"] = [name]
    d["record_number"] = rev
    return json.dumps(d).encode()


# ---- 10. injective file names ----------------------------------------------------------------------------------------


def test_confusable_event_names_get_distinct_files(tmp_path, notices):
    long_a, long_b = "A" * 150 + "x", "A" * 150 + "y"
    names = ["..", ".", "\u2025", "_", "a/b", "a_b", "a\\b", long_a, long_b, "IceCube-230416A"]
    store = AlertStore(tmp_path)
    results = [ingest(store, _named(notices, n)) for n in names]
    assert all(r.created and r.primary for r in results), [r.path.name for r in results]
    assert len({r.path.name for r in results}) == len(names)
    assert len(store) == len(names) and len(store.list()) == len(names)
    for n in names:
        assert store.get(f"bronze_{n}")["event_name"] == n
    for r in results:
        assert r.path.parent == store.records_dir and len(r.path.name) < 255
    assert store.reindex() == len(names) and len(store) == len(names)


def test_file_stem_is_injective_and_plain_names_unchanged():
    assert file_stem("gold_132910_57145925", 1) == "gold_132910_57145925__rev1"
    keys = ["a/b", "a_b", "a b", "a..b", "..", ".", "\u2025", "x" * 101, "x" * 100, "a++b", "a+b"]
    stems = [file_stem(k, 0) for k in keys]
    assert len(set(stems)) == len(keys)


# ---- 11. concurrent writers, crashes ---------------------------------------------------------------------------------


def _store_in_process(directory, raw, barrier, out):
    barrier.wait()
    try:
        res = AlertStore(directory).store(parse(raw))
        out.put((res.created, res.primary, res.path.name))
    except Exception as exc:  # pragma: no cover - the failure under test
        out.put(("error", repr(exc), ""))


def _race(tmp_path, messages):
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(len(messages)), ctx.Queue()
    AlertStore(tmp_path)  # created once, as a deployed store would be
    procs = [ctx.Process(target=_store_in_process, args=(str(tmp_path), m, barrier, out)) for m in messages]
    [p.start() for p in procs]
    results = [out.get(timeout=60) for _ in procs]
    [p.join(30) for p in procs]
    return results


def test_concurrent_processes_storing_different_messages_keep_all(tmp_path, notices):
    xml = notices[GOLD_XML].decode()
    msgs = [xml.replace("<C1>225.7899</C1>", f"<C1>{100 + i}.0</C1>").encode() for i in range(8)]
    results = _race(tmp_path, msgs)
    assert not [r for r in results if r[0] == "error"], results
    assert all(created for created, _, _ in results)
    assert sum(primary for _, primary, _ in results) == 1
    store = AlertStore(tmp_path)
    assert len(store) == 1 and len(store.list(primary_only=False)) == 8
    assert store.reindex() == 8 and not store.last_reindex.missing_raw and not store.last_reindex.orphan_raw


def test_concurrent_identical_writes_report_created_once(tmp_path, notices):
    results = _race(tmp_path, [notices[GOLD_XML]] * 6)
    assert not [r for r in results if r[0] == "error"], results
    assert sum(created for created, _, _ in results) == 1
    assert len({name for _, _, name in results}) == 1


def test_orphan_raw_from_a_crash_does_not_block_the_genuine_notice(tmp_path, notices):
    """An older version wrote the .raw first; a kill between the writes left it without its record."""
    store = AlertStore(tmp_path)
    genuine = parse(notices[GOLD_XML])
    orphan = store.records_dir / (file_stem(genuine.event_key, genuine.revision) + ".raw")
    orphan.write_bytes(b"the poison message that died after its raw was written")
    res = store.store(genuine)
    assert res.created and res.primary
    assert res.path.with_suffix(".raw").read_bytes() == genuine.raw
    assert any("orphan" in d["error"] for d in store.dead_letters())  # kept, not lost


def test_record_without_raw_is_repaired_on_redelivery(tmp_path, notices):
    """The record is written first: a kill before the raw leaves a record whose raw comes with the retry."""
    store = AlertStore(tmp_path)
    first = store.store(parse(notices[GOLD_XML]))
    first.path.with_suffix(".raw").unlink()
    assert store.reindex() == 1 and store.last_reindex.missing_raw == [first.path.name]
    again = store.store(parse(notices[GOLD_XML]))
    assert not again.created and again.path == first.path
    assert first.path.with_suffix(".raw").read_bytes() == notices[GOLD_XML]
    store.reindex()
    assert not store.last_reindex.missing_raw


def test_stale_tmp_files_are_cleaned(tmp_path, notices):
    store = AlertStore(tmp_path)
    old = store.records_dir / ".gold_1_2__rev0.json.0123456789ab.tmp"
    fresh = store.records_dir / ".gold_1_2__rev0.raw.ba9876543210.tmp"
    dead = store.dead_letter_dir / ".abc.raw.0123456789ab.tmp"
    for p in (old, fresh, dead):
        p.write_bytes(b"partial")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(dead, (past, past))
    AlertStore(tmp_path)  # opening cleans what killed writers left
    assert not old.exists() and not dead.exists() and fresh.exists()  # a live writer's file is kept
    assert store.clean_temporary(older_than_s=0) == 1 and not fresh.exists()


def test_one_corrupt_record_does_not_abort_reindex(tmp_path, notices):
    store = AlertStore(tmp_path)
    for raw in list(notices.values())[:6]:
        ingest(store, raw)
    n = len(store.list(primary_only=False))
    good = json.loads(next(store.records_dir.glob("*.json")).read_text())
    (store.records_dir / "garbage__rev0.json").write_text("{not json")
    (store.records_dir / "huge__rev0.json").write_text(json.dumps(dict(good, revision=2**64)))
    (store.records_dir / "bool__rev0.json").write_text(json.dumps(dict(good, mjd=True)))
    assert store.reindex() == n
    assert set(store.last_reindex.corrupt) == {"garbage__rev0.json", "huge__rev0.json", "bool__rev0.json"}
    assert len(store.list(primary_only=False)) == n


# ---- 12. read-only store, full disk ---------------------------------------------------------------------------------


def _snapshot(d: Path):
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in d.rglob("*")}


def test_read_only_store_can_be_listed(tmp_path, notices, monkeypatch):
    store = AlertStore(tmp_path)
    for raw in notices.values():
        ingest(store, raw)
    want, n_primary = store.list(primary_only=False), len(store)
    store.close()
    before = _snapshot(tmp_path)
    ro = AlertStore(tmp_path, read_only=True)
    assert ro.read_only and ro.list(primary_only=False) == want and len(ro) == n_primary
    assert ro.get("gold_132910_57145925")["revision"] == 1
    with pytest.raises(StorageError, match="read-only"):
        ro.store(parse(notices[GOLD_XML]))
    assert _snapshot(tmp_path) == before  # not a byte written (no WAL, no -shm)
    # a directory we cannot write is opened read-only by itself (root ignores modes: simulate the check)
    from icecore.alerts import store as store_mod

    monkeypatch.setattr(store_mod, "_writable", lambda d: False)
    assert AlertStore(tmp_path).read_only
    from icecore.cli import main

    assert main(["alerts", "list", str(tmp_path), "--json"]) == 0
    assert _snapshot(tmp_path) == before


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_raises_storage_error_with_path(tmp_path, notices, monkeypatch, capsys):
    store = AlertStore(tmp_path / "s")
    ingest(store, notices[GOLD_JSON])
    before = {p.name: p.read_bytes() for p in store.records_dir.iterdir()}
    monkeypatch.setattr(_io, "_create_temporary", _enospc)
    with pytest.raises(StorageError, match=str(store.records_dir)) as exc:
        ingest(store, notices[GOLD_XML])
    assert "No space left" in str(exc.value)
    with pytest.raises(StorageError, match=str(store.dead_letter_dir)):
        ingest(store, b"garbage")
    assert {p.name: p.read_bytes() for p in store.records_dir.iterdir()} == before  # nothing damaged
    from icecore.cli import main

    f = tmp_path / "n.xml"
    f.write_bytes(notices[GOLD_XML])
    assert main(["alerts", "parse", str(f), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "No space left" in err and "Traceback" not in err


def test_full_disk_in_the_index_is_a_storage_error(tmp_path, notices, monkeypatch):
    store = AlertStore(tmp_path)

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(AlertStore, "_index", full)
    with pytest.raises(StorageError, match="index.sqlite.*disk is full"):
        store.store(parse(notices[GOLD_XML]))
    monkeypatch.undo()
    again = AlertStore(tmp_path).store(parse(notices[GOLD_XML]))  # the retry completes the index
    assert not again.created and len(AlertStore(tmp_path)) == 1


# ---- ingest: any error after parsing is dead-lettered ----------------------------------------------------------------


def test_processing_error_after_parse_is_dead_lettered(tmp_path, notices, monkeypatch):
    def broken(*a, **k):
        raise ZeroDivisionError("a bug in the significance")

    monkeypatch.setattr(process_mod, "significance_block", broken)
    store = AlertStore(tmp_path)
    dead = ingest(store, notices[GOLD_XML], meta={"offset": 7})
    assert dead.parent == store.dead_letter_dir
    [info] = store.dead_letters()
    assert "ZeroDivisionError" in info["error"] and info["meta"] == {"offset": 7, "stage": "process"}
    assert not list(store.records_dir.iterdir())  # no .raw without its record


def test_unserialisable_record_is_dead_lettered_not_half_written(tmp_path, notices, monkeypatch):
    monkeypatch.setattr(process_mod, "significance_block", lambda *a, **k: {"p": float("inf")})
    store = AlertStore(tmp_path)
    assert ingest(store, notices[GOLD_XML]).parent == store.dead_letter_dir
    assert not list(store.records_dir.iterdir())


# ---- atomic_write respects the umask ---------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_respects_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        p = _io.atomic_write(tmp_path / "f.json", "{}")
        q = _io.atomic_write(tmp_path / "g.json", b"x", overwrite=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == mode and stat.S_IMODE(q.stat().st_mode) == mode
    os.chmod(p, 0o640)
    _io.atomic_write(p, "{}")  # a replaced file keeps its permissions
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]


def test_stored_alerts_are_readable_by_the_group(tmp_path, notices):
    old = os.umask(0o022)
    try:
        res = AlertStore(tmp_path).store(parse(notices[GOLD_XML]))
    finally:
        os.umask(old)
    assert stat.S_IMODE(res.path.stat().st_mode) == 0o644


def test_bad_n_trials_is_the_callers_error_not_dead_letters(tmp_path, notices):
    from icecore.errors import InputError

    store = AlertStore(tmp_path)
    for bad in (0.5, float("nan"), True, "3"):
        with pytest.raises(InputError, match="n_trials"):
            ingest(store, notices[GOLD_XML], n_trials=bad)
    assert not store.dead_letters() and len(store) == 0
