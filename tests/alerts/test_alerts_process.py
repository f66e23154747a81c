"""The pipeline (icecore.alerts.process): one return type, one record builder, ingest."""

from __future__ import annotations

from collections.abc import Mapping

from icecore.alerts import (
    AlertStore,
    ProcessedAlert,
    StoredAlert,
    alert_record,
    ingest,
    parse,
    process,
    significance_block,
)

GOLD1 = "voevent/amon_icecube_gold_190730_rev1.xml"


def test_process_has_one_return_type(tmp_path, notices):
    alert = parse(notices[GOLD1])
    plain = process(alert, n_trials=2)
    assert isinstance(plain, ProcessedAlert) and isinstance(plain, Mapping)
    assert plain.stored is None and plain.path is None and not plain.created and not plain.primary
    assert dict(plain) == plain.record == alert_record(alert, significance_block(alert, n_trials=2))
    store = AlertStore(tmp_path)
    first = process(alert, n_trials=2, store=store)
    assert isinstance(first, ProcessedAlert) and isinstance(first.stored, StoredAlert)
    assert first.created and first.primary and first.path == first.stored.path and first.path.is_file()
    # the stored record is the same record plus the time it was stored
    assert {k: v for k, v in first.record.items() if k != "stored_at"} == plain.record
    again = process(alert, n_trials=2, store=store)
    assert not again.created and again.path == first.path and again.record == first.record


def test_ingest_returns_the_storage_outcome(tmp_path, notices):
    store = AlertStore(tmp_path)
    res = ingest(store, notices[GOLD1], n_trials=3)
    assert isinstance(res, StoredAlert) and res.created
    assert res.record["significance"]["n_trials"] == 3
    dead = ingest(store, b"not a notice", meta={"file": "x"})
    assert dead.parent == store.dead_letter_dir and dead.read_bytes() == b"not a notice"
    assert store.dead_letters()[0]["meta"] == {"file": "x"}


def test_classic_dict_is_detected_by_parse(notices):
    import json

    name = "classic_text/DERIVED_hermes_parsed_ICECUBE_CASCADE_141344_29341777.json"
    a = parse(json.loads(notices[name]))
    assert a.source_format == "classic_text" and a.kind == "cascade"
    assert parse(notices[name]).to_dict() == a.to_dict() | {"raw_sha256": parse(notices[name]).raw_sha256}
