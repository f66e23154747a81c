"""AlertStore and process(): safe names, atomic idempotent writes, revisions, dead letters, index."""

from __future__ import annotations

import json
import os
import threading

import jsonschema
import pytest
from alerts_fixtures import NOTICES
from scipy import stats as sps

from icecore.alerts import AlertStore, alert_schema, ingest, parse, process
from icecore.alerts.process import significance_block
from icecore.errors import InputError, ParseError

GOLD1 = "voevent/amon_icecube_gold_190730_rev1.xml"
BRONZE = "voevent/amon_icecube_bronze_190819_rev0.xml"
LVK = NOTICES[0]


def _files(store):
    return sorted(p.name for p in store.records_dir.iterdir() if not p.name.startswith("."))


def test_store_all_fixtures_and_validate(tmp_path, notices):
    store = AlertStore(tmp_path / "s")
    validator = jsonschema.Draft202012Validator(alert_schema())
    for raw in notices.values():
        res = process(parse(raw), n_trials=3, store=store)
        validator.validate(json.loads(res.path.read_text()))
        assert res.path.with_suffix(".raw").read_bytes() == parse(raw).raw
    # every message is kept; several describe the same (event, revision) (the two cascade
    # 200701b copies, the three bronze 137840_57034692 JSON layouts...) and are alternates
    rows = store.list(primary_only=False)
    assert len(rows) == len(notices)
    assert len(store) == len({(r["event_key"], r["revision"]) for r in rows})
    assert store.reindex() == len(notices)
    assert len(store.list(primary_only=False)) == len(notices)


def test_idempotent_restore_and_no_overwrite(tmp_path, notices):
    store = AlertStore(tmp_path)
    a = parse(notices[GOLD1])
    first = store.store(a)
    assert first.created and first.primary
    before = {p: p.read_bytes() for p in store.records_dir.iterdir()}
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    again = store.store(parse(notices[GOLD1]))
    assert not again.created and again.path == first.path
    assert {p: p.read_bytes() for p in store.records_dir.iterdir()} == before
    assert {p: p.stat().st_mtime_ns for p in before} == mtimes
    assert len(store) == 1


def test_new_revision_is_new_record(tmp_path, notices):
    store = AlertStore(tmp_path)
    xml = notices[GOLD1].decode()
    rev1 = parse(xml)
    rev2 = parse(xml.replace('name="Rev"          value="1"', 'name="Rev"          value="2"'))
    store.store(rev1), store.store(rev2)
    assert _files(store) == ["gold_132910_57145925__rev1.json", "gold_132910_57145925__rev1.raw",
                             "gold_132910_57145925__rev2.json", "gold_132910_57145925__rev2.raw"]
    assert store.get("gold_132910_57145925")["revision"] == 2
    assert store.get("gold_132910_57145925", 1)["revision"] == 1


def test_conflicting_message_kept_beside_never_overwrites(tmp_path, notices):
    store = AlertStore(tmp_path)
    xml = notices[GOLD1].decode()
    a = store.store(parse(xml))
    original = a.path.read_bytes()
    changed = parse(xml.replace("<C1>225.7899</C1>", "<C1>100.0</C1>"))
    b = store.store(changed)
    assert b.created and not b.primary and b.path != a.path
    assert a.path.read_bytes() == original
    assert store.get("gold_132910_57145925")["ra_deg"] == 225.7899
    assert len(store) == 1 and len(store.list(primary_only=False)) == 2
    assert store.reindex() == 2 and len(store) == 1


def test_names_cannot_escape(tmp_path, notices):
    d = json.loads(notices[NOTICES[1]])
    d["event_name"] = ["../../../../etc/passwd"]
    d.pop("id")
    store = AlertStore(tmp_path / "s")
    res = store.store(parse(d))
    assert res.path.parent == store.records_dir
    # slashes gone: one flat name; a key that is not a plain name carries a hash of itself (issue #11.10)
    assert res.path.name == "bronze_.._.._.._.._etc_passwd++66d27ce53b5e0ed1__rev0.json"
    assert os.path.commonpath([res.path, store.directory]) == str(store.directory)
    assert not (tmp_path / "etc").exists()


def test_dead_letter(tmp_path, notices):
    store = AlertStore(tmp_path)
    bad = notices[GOLD1][:500]
    p1 = ingest(store, bad, topic="gcn.classic.voevent.ICECUBE_ASTROTRACK_GOLD")
    p2 = ingest(store, bad)
    assert p1 == p2 and p1.read_bytes() == bad
    [info] = store.dead_letters()
    assert "malformed XML" in info["error"] and info["topic"] == "gcn.classic.voevent.ICECUBE_ASTROTRACK_GOLD"
    assert len(store) == 0
    # a good message afterwards is stored normally; the bad one never touched records/
    ok = ingest(store, notices[GOLD1])
    assert ok.created and len(store) == 1


def test_bad_input_never_touches_stored_records(tmp_path, notices):
    store = AlertStore(tmp_path)
    for raw in notices.values():
        ingest(store, raw)
    snapshot = {p.name: p.read_bytes() for p in store.records_dir.iterdir()}
    for raw in notices.values():
        for cut in (10, len(raw) // 2):
            ingest(store, raw[:cut])
        ingest(store, raw)  # and the real ones again
    assert {p.name: p.read_bytes() for p in store.records_dir.iterdir()} == snapshot


def test_list_filters(tmp_path, notices):
    store = AlertStore(tmp_path)
    for raw in notices.values():
        ingest(store, raw)
    golds = store.list(kind="gold")
    assert {r["event_key"] for r in golds} == {"gold_132910_57145925", "gold_132642_58895105",
                                               "gold_135363_69917294", "gold_138283_14780365"}
    in_2019 = store.list(start="2019-01-01", end="2019-12-31T23:59:59")
    assert [r["event_key"] for r in in_2019] == ["gold_132642_58895105", "gold_132910_57145925", "bronze_132974_67924813"]
    mjds = [r["mjd"] for r in store.list()]
    assert mjds == sorted(mjds)
    assert [r["event_name"] for r in store.list(name="200701b")] == ["IceCubeCascade-200701b"]
    assert all(not r["test"] for r in store.list(include_tests=False))
    assert any(r["test"] for r in store.list())  # MS230427r mock superevent


def test_concurrent_store_threads(tmp_path, notices):
    store = AlertStore(tmp_path)
    alerts = [parse(r) for r in notices.values()]
    errors = []

    def work():
        try:
            for a in alerts:
                store.store(a)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert len(store.list(primary_only=False)) == len(notices)


def test_process_significance_against_scipy(notices):
    lvk = parse(notices[LVK])
    rec = process(lvk, n_trials=10)
    s = rec["significance"]
    assert s["route"] == "pval_generic" and s["p_pre"] == 0.0191
    p_post = 1 - (1 - 0.0191) ** 10
    assert s["p_post"] == pytest.approx(p_post, rel=1e-12)
    assert s["sigma_pre"] == pytest.approx(sps.norm.isf(0.0191), rel=1e-9)
    assert s["sigma_post"] == pytest.approx(sps.norm.isf(p_post), rel=1e-9)
    gold = parse(notices[GOLD1])
    s = process(gold)["significance"]
    assert s["route"] == "far_poisson" and s["p_pre"] == pytest.approx(1 - math_exp(-0.677), rel=1e-12)
    two = significance_block(gold, sided=2)
    assert two["sigma_pre"] == pytest.approx(sps.norm.isf(s["p_pre"] / 2), rel=1e-9)
    hese = parse(notices["voevent/amon_icecube_hese_151115.xml"])
    assert process(hese)["significance"] is None
    with pytest.raises(ValueError):
        process(lvk, n_trials=0.5)
    with pytest.raises(InputError):
        process("not an alert")


def math_exp(x):
    import math

    return math.exp(x)


def test_store_rejects_bad_arguments(tmp_path):
    with pytest.raises(InputError):
        AlertStore("")
    with pytest.raises(InputError):
        AlertStore(tmp_path).store({"kind": "gold"})
    with pytest.raises(KeyError):
        AlertStore(tmp_path).get("nothing")
    with pytest.raises(ParseError):
        parse(b"garbage")


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=80), rev=st.integers(1, 50))
def test_any_event_name_stays_inside(tmp_path_factory, notices, name, rev):
    d = json.loads(notices[NOTICES[1]])
    d.pop("id")
    d["event_name"] = [name]
    d["record_number"] = rev
    try:
        alert = parse(d)
    except ParseError:
        return
    store = AlertStore(tmp_path_factory.mktemp("s"))
    res = store.store(alert)
    assert res.path.parent == store.records_dir and res.path.name.endswith(f"__rev{rev - 1}.json")
    assert store.get(alert.event_key)["event_name"] == alert.event_name
