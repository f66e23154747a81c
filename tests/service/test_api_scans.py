"""Scans through the HTTP API, on SQLite and PostgreSQL: submit, list, manifest, result, cancel, delete."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from icecore.scan import SyntheticEvent, scan
from icecore.scan.skyreader import read_npz


def _wait_done(svc, sid, timeout=120):
    row = svc.scans.wait(sid, timeout)
    assert row["status"] == "done", row["error"]
    return row


def test_synthetic_scan_end_to_end(db_url, make_service, client_for, synthetic_event, auth, quick):
    svc = make_service(database=db_url)
    c = client_for(svc)
    r = c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    _wait_done(svc, sid)

    m = c.get(f"/api/scans/{sid}").json()
    assert m["status"] == "done" and m["run_id"] == 1234 and m["event_id"] == 56
    levels = m["progress"]["levels"]
    assert [lv["nside"] for lv in levels] == [8, 32]
    assert levels[0]["pixels"] == 768 and levels[1]["pixels"] > 0
    assert m["progress"]["pixels"] == sum(lv["pixels"] for lv in levels)
    assert m["timings"]["running_s"] >= 0 and m["workers"]

    res = c.get(f"/api/scans/{sid}/result").json()
    direct = scan(SyntheticEvent(**synthetic_event["synthetic_event"]), nsides=(8, 32), extensions=(12.0,),
                  threads=2, progress=False)
    best = res["summary"]["best_fit"]
    assert best["ra_deg"] == pytest.approx(direct.best_fit["ra_deg"], abs=0)
    assert best["dec_deg"] == pytest.approx(direct.best_fit["dec_deg"], abs=0)
    assert set(res["summary"]["contours"]) == {"wilks", "icecube-calibrated"}
    names = set(res["files"])
    assert any(n.endswith(".npz") for n in names) and any(n.endswith(".fits") for n in names)
    assert any(n.endswith(".json") and n != "summary.json" for n in names)
    # the skyreader npz is downloadable and holds the same pixels as a direct scan
    npz = next(n for n in names if n.endswith(".npz"))
    got = c.get(res["files"][npz])
    assert got.status_code == 200
    tmp = io.BytesIO(got.content)
    from pathlib import Path

    p = Path(svc.config.data_dir) / "dl.npz"
    p.write_bytes(tmp.getvalue())
    assert read_npz(p).equal_pixels(direct)
    # metadata record: software, inputs, parameters, files with hashes
    meta = res["metadata"]
    assert meta["layout_version"] == 1 and meta["software"]["icecore"]
    assert meta["inputs"]["event_sha256"] and meta["parameters"]["settings"]["nsides"] == [8, 32]
    assert all(len(f["sha256"]) == 64 for f in meta["files"])

    lst = c.get("/api/scans", params={"run_id": 1234}).json()
    assert [s["id"] for s in lst] == [sid]
    assert c.get("/api/scans", params={"run_id": 999}).json() == []
    assert c.get("/api/scans", params={"event_id": 56, "status": "done"}).json()[0]["id"] == sid


def test_likelihood_event_scan(db_url, make_service, client_for, likelihood_event, auth, quick):
    svc = make_service(database=db_url)
    c = client_for(svc)
    body = {"event": likelihood_event, "settings": {"nsides": [1, 2], "extensions": [12.0]},
            "fitter_options": {"n_ring": 0}}
    r = c.post("/api/scans", json=body, headers=auth)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    _wait_done(svc, sid)
    res = c.get(f"/api/scans/{sid}/result").json()
    from icecore.likelihood import Event

    direct = scan(Event.from_json(json.dumps(likelihood_event)), nsides=(1, 2), extensions=(12.0,), threads=2,
                  progress=False, fitter_options={"n_ring": 0})
    assert res["summary"]["best_fit"]["ra_deg"] == direct.best_fit["ra_deg"]
    assert res["summary"]["best_fit"]["neg_llh"] == pytest.approx(direct.best_fit["neg_llh"], rel=1e-12)
    assert c.get(f"/api/scans/{sid}").json()["event_kind"] == "likelihood"


def test_cancel_queued_and_delete(db_url, make_service, client_for, synthetic_event, auth, quick):
    svc = make_service(database=db_url, start=False)  # nothing runs: the scan stays queued
    c = client_for(svc)
    sid = c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth).json()["id"]
    assert c.get(f"/api/scans/{sid}").json()["status"] == "queued"
    assert c.get(f"/api/scans/{sid}/result").status_code == 409
    assert c.post(f"/api/scans/{sid}/cancel", headers=auth).json()["status"] == "cancelled"
    assert c.get(f"/api/scans/{sid}").json()["status"] == "cancelled"
    assert c.delete(f"/api/scans/{sid}", headers=auth).json()["deleted"] is True
    assert c.get(f"/api/scans/{sid}").status_code == 404
    assert c.delete(f"/api/scans/{sid}", headers=auth).status_code == 404
    assert c.post("/api/scans/nope/cancel", headers=auth).status_code == 404


def test_cancel_running_scan(make_service, client_for, tmp_path, synthetic_event, auth, quick):
    svc = make_service()
    c = client_for(svc)
    ev = json.loads(json.dumps(synthetic_event))
    ev["synthetic_event"]["work"] = 3000  # slow fits: many batches to stop between
    sid = c.post("/api/scans", json={"event": ev, "settings": {"nsides": [8, 64, 512], "extensions": [12.0, 24.0]}},
                 headers=auth).json()["id"]
    import time

    t0 = time.monotonic()
    while c.get(f"/api/scans/{sid}").json()["progress"]["batches"] < 1 and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    assert c.post(f"/api/scans/{sid}/cancel", headers=auth).json()["status"] in ("running", "cancelled", "done")
    row = svc.scans.wait(sid, 60)
    assert row["status"] in ("cancelled", "done")  # done only if it finished before the cancel landed
    if row["status"] == "cancelled":
        assert row["product_id"] is None


def test_bad_events_are_422(make_service, client_for, synthetic_event, auth, quick):
    svc = make_service(start=False)
    c = client_for(svc)
    bad = json.loads(json.dumps(synthetic_event))
    bad["synthetic_event"]["dec_deg"] = 123.0
    r = c.post("/api/scans", json={"event": bad, "settings": quick}, headers=auth)
    assert r.status_code == 422 and "dec" in r.text
    r = c.post("/api/scans", json={"event": {"pulses": "nonsense"}, "settings": quick}, headers=auth)
    assert r.status_code == 422
    r = c.post("/api/scans", json={"event": synthetic_event, "settings": {"nsides": [64, 8], "extensions": [1.0]}},
               headers=auth)
    assert r.status_code == 422 and "nsides" in r.text
    r = c.post("/api/scans", json={"event": synthetic_event, "settings": quick, "executor": "amqp"}, headers=auth)
    assert r.status_code == 422 and "RabbitMQ" in r.text
    assert svc.scans.queue_depth()["queued"] == 0


def test_openapi_and_health(make_service, client_for, auth, quick):
    c = client_for(make_service(start=False))
    spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/scans", "/api/scans/{scan_id}", "/api/scans/{scan_id}/result", "/api/scans/{scan_id}/cancel",
              "/api/alerts", "/api/alerts/{event_key}", "/api/health", "/api/metrics"):
        assert p in paths, p
    assert "ScanRequest" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    h = c.get("/api/health").json()
    assert h["status"] == "ok" and h["schema_version"] == 1
    m = c.get("/api/metrics").json()
    assert m["queues"]["scans_queued"] == 0 and m["http"]["requests"] >= 2


def test_scan_on_amqp_workers(tmp_path, make_service, client_for, synthetic_event, amqp_url, auth, quick):
    """Scans farmed to the existing RabbitMQ workers give the in-process result."""
    import threading

    from icecore.scan.amqp import run_worker

    queue = f"icecore.test.service.{tmp_path.name}"
    svc = make_service(amqp_url=amqp_url, amqp_queue=queue)
    worker = threading.Thread(target=run_worker, args=(amqp_url,),
                              kwargs={"queue": queue, "idle_timeout": 4.0, "threads": 1}, daemon=True)
    worker.start()
    try:
        c = client_for(svc)
        sid = c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth).json()["id"]
        row = _wait_done(svc, sid, 60)
        assert row["executor"] == "amqp"
        best = c.get(f"/api/scans/{sid}/result").json()["summary"]["best_fit"]
        direct = scan(SyntheticEvent(**synthetic_event["synthetic_event"]), nsides=(8, 32), extensions=(12.0,),
                      threads=2, progress=False)
        assert best["ra_deg"] == direct.best_fit["ra_deg"] and best["neg_llh"] == direct.best_fit["neg_llh"]
        assert "amqp" in c.get(f"/api/scans/{sid}").json()["workers"]
    finally:
        worker.join(15)
    assert np.isfinite(best["dec_deg"])
