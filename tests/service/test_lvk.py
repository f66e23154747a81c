"""LVK GW alerts in the service: stored, followed up with icecore.lvk, products stored; retraction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.service_wait import settle

PRELIMINARY = "gcn/lvk_kafka_json/igwn_gwalert_preliminary_MS260605l.json"
RETRACTION = "gcn/lvk_kafka_json/igwn_gwalert_retraction.json"
VOEVENT = "gcn/lvk_voevent/S190425z-Initial.xml"


_settle = settle


def test_lvk_alert_followed_up_then_retracted(make_service, client_for, real, lvk_setup, auth, gcn_dir):
    cfg, alert, ev, sample = lvk_setup
    svc = make_service(scan_plots=True, **cfg)
    c = client_for(svc)
    raw = (real / PRELIMINARY).read_bytes()
    r = c.post("/api/alerts?topic=igwn.gwalert", content=raw, headers=auth)
    assert r.status_code == 201 and r.json()["created"] is True, r.text
    key = r.json()["event_key"]
    assert key == "gw_MS260605l"
    assert c.post("/api/alerts", content=raw, headers=auth).json()["created"] is False  # same alert, no topic
    _settle(svc)
    a = c.get(f"/api/alerts/{key}").json()
    assert a["kind"] == "lvk_gw" and a["status"] == "done"
    assert {s["step"]: s["status"] for s in a["plan"]} == {"lvk_followup": "done"}
    p = a["products"]["lvk_followup"]
    names = {f["name"] for f in p["metadata"]["files"]}
    assert names == {"notice.json", "circular.txt", "skymap.png", "summary.json"}
    s = p["summary"]
    in_window = int(np.count_nonzero(np.abs(ev["time_mjd"] - alert.time_mjd) * 86400.0 <= 500.0))
    assert s["n_events_window"] == in_window == ev.size - 1
    # the numbers are those of the follow-up run directly with the product's seed
    from icecore.service.followup import run_lvk_followup

    seed = int(p["input_hash"][:8], 16)
    svc_hash = svc.orchestrator._step_hash("lvk_followup", a["record"])
    assert svc_hash == p["input_hash"]
    direct = run_lvk_followup(alert, ev, sample, svc.config.data_dir / "direct", nside=32, n_trials=200, seed=seed,
                              plot=False)
    d = json.loads(direct["summary"].read_text())
    assert d["generic"]["ts"] == s["generic"]["ts"] and d["generic"]["pval"] == s["generic"]["pval"]
    assert d["bayesian"]["pval"] == s["bayesian"]["pval"]
    notice = json.loads(c.get(f"/api/products/{p['id']}/files/notice.json").content)
    assert notice["ref_ID"] == "MS260605l" and notice["pval_generic"] == pytest.approx(s["generic"]["pval"], rel=1e-3)
    assert p["metadata"]["data_releases"][0]["doi"]
    # IceCube's lvk_nu_track_search notice is an IceCube alert: significance only
    c.post("/api/alerts", content=(gcn_dir / "gcn-schema/main/gcn/notices/icecube/lvk_nu_track_search.example.json")
           .read_bytes(), headers=auth)
    # the retraction (no topic given: recognised by its content) marks it retracted, runs no search
    n_products = len(svc.products.list_products())
    r = c.post("/api/alerts", content=(real / RETRACTION).read_bytes(), headers=auth)
    assert r.status_code == 201 and r.json()["revision"] == 1
    _settle(svc)
    a = c.get(f"/api/alerts/{key}").json()
    assert a["retracted"] and a["status"] == "retracted" and a["plan"] == []
    assert a["revisions"][0]["plan"][0]["status"] == "done"
    assert svc.products.get(p["id"])["retracted"] is True
    lvk_prods = [q for q in svc.products.list_products() if q["kind"] == "lvk_followup"]
    assert len(lvk_prods) == 1 and len(svc.products.list_products()) == n_products + 1  # + IceCube significance


def test_lvk_voevent_without_its_map_fails_the_step_with_the_reason(make_service, real, lvk_setup):
    cfg = lvk_setup[0]
    svc = make_service(start=False, **cfg)
    out = svc.orchestrator.ingest((real / VOEVENT).read_bytes(), topic="gcn.classic.voevent.LVC_INITIAL")
    assert out["event_key"] == "gw_S190425z" and out["steps"] == ["lvk_followup"]
    svc.orchestrator.run_pending()
    step = svc.orchestrator.alert("gw_S190425z")["plan"][0]
    assert step["status"] == "failed" and "sky map" in step["error"]


def test_lvk_step_skipped_without_events(make_service, real):
    svc = make_service(start=False)
    svc.orchestrator.ingest((real / PRELIMINARY).read_bytes(), topic="igwn.gwalert")
    svc.orchestrator.run_pending()
    assert svc.orchestrator.alert("gw_MS260605l")["plan"][0]["status"] == "skipped"
