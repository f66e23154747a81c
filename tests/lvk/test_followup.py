"""Alerts in, notice out: parsing, retraction, schema validation, read-back, CLI, flat vs multi-order."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from icecore.lvk import cli
from icecore.lvk.alert import read_lvk_alert
from icecore.lvk.events import EVENT_DTYPE, simulate_window
from icecore.lvk.followup import RetractionRecord, run_followup, write_products


def test_parse_kafka_voevent_and_retraction(real):
    k = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_preliminary_MS260605l.json")
    assert (k.superevent_id, k.alert_type, k.is_test) == ("MS260605l", "preliminary", True)
    assert k.time_iso == "2026-06-05T11:57:26.395Z" and k.far_hz == pytest.approx(5.176954877338635e-16)
    assert k.properties["HasNS"] == 1.0 and k.classification["BNS"] > 0.99 and k.instruments == ("H1", "L1", "V1")
    v = read_lvk_alert(real / "gcn" / "lvk_voevent" / "S190814bv-5-Update.xml")
    assert (v.superevent_id, v.alert_type, v.revision) == ("S190814bv", "update", 5)
    assert v.skymap_url == "data/LALInference.v1.fits.gz" and v.skymap_bytes is None
    assert v.classification["NSBH"] == pytest.approx(0.99789)
    r = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_retraction.json")
    assert r.retracted and r.time_mjd is None


def test_retraction_runs_no_search(real, tmp_path):
    r = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_retraction.json")
    rec = run_followup(r, np.zeros(0, dtype=EVENT_DTYPE), None)  # type: ignore[arg-type]  # no sample needed
    assert isinstance(rec, RetractionRecord)
    paths = write_products(rec, tmp_path)
    assert set(paths) == {"retraction", "summary"}
    assert json.loads(paths["summary"].read_text())["search_run"] is False
    assert not (tmp_path / "notice.json").exists()


@pytest.fixture(scope="module")
def followup(real, sample, background):
    a = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_preliminary_MS260605l.json")
    m = a.skymap()
    ev = simulate_window(sample, a.time_mjd, seed=4, n_signal=3, source_deg=m.max_direction_deg(),
                         background=background)
    return run_followup(a, ev, sample, background=background, nside=128, n_trials=2000, n_single_trials=500, seed=1)


def test_notice_validates_and_reads_back(followup, notice_validator, tmp_path):
    from icecore.alerts import parse

    paths = write_products(followup, tmp_path, plot=False)
    notice = json.loads(paths["notice"].read_text())
    errors = list(notice_validator.iter_errors(notice))
    assert not errors, errors[:3]
    back = parse(paths["notice"].read_bytes())
    assert back.kind == "lvk_nu_track_search" and back.gw_superevent_id == "MS260605l"
    assert back.pval_generic == notice["pval_generic"] and back.pval_bayesian == notice["pval_bayesian"]
    assert back.n_events_coincident == notice["n_events_coincident"] == len(followup.coincident_events) >= 3
    best = notice["most_probable_direction"]
    assert (back.ra_deg, back.dec_deg) == (best["ra"], best["dec"])
    for c, n, e in zip(back.coincident_events, notice["coincident_events"], followup.coincident_events):
        assert c.event_dt_s == n["event_dt"] and c.ra_deg == n["localization"]["ra"]
        assert c.pval_generic == n["event_pval_generic"] and c.pval_bayesian == n["event_pval_bayesian"]
        assert f"{c.run_id}_{c.event_id}" == n["id"][0] == f"{e['run_id']}_{e['event_id']}"
    summary = json.loads(paths["summary"].read_text())
    assert summary["generic"]["pval"] == followup.pval_generic
    text = paths["text"].read_text()
    assert "MS260605l" in text and "p-value" in text


def test_injected_followup_is_significant_and_consistent(followup):
    assert followup.pval_generic < 0.01 and followup.pval_bayesian < 0.01
    assert followup.ns == pytest.approx(3.0, abs=1.0)
    assert all(e["pval_generic"] <= 0.5 for e in followup.coincident_events)
    lo, hi = followup.upper_limits["flux_sensitivity"]
    assert 0 < lo <= hi


def test_flat_and_multiorder_give_the_same_search_result(real, sample, background):
    from icecore.lvk.region import SearchRegion
    from icecore.lvk.search import PixelSearch
    from icecore.lvk.skymap import read_skymap

    flat = read_skymap(real / "gw" / "flat" / "S190814bv_LALInference.v1_nside1024.fits.gz")
    moc = read_skymap(real / "gw" / "multiorder" / "S190814bv_LALInference.v1.multiorder.fits")
    assert flat.credible_area_deg2() == pytest.approx(moc.credible_area_deg2(), rel=0.005)
    sf = PixelSearch(SearchRegion.from_map(flat, nside=128), background)
    sm = PixelSearch(SearchRegion.from_map(moc, nside=128), background)
    assert np.array_equal(sf.region.ipix, sm.region.ipix)
    k = int(np.argmax(sm.region.prob))
    for seed in range(5):
        w = simulate_window(sample, 58709.88, seed=seed, n_signal=seed % 3,
                            source_deg=(sm.region.ra_deg[k], sm.region.dec_deg[k]), background=background)
        a, b = sf.evaluate(w), sm.evaluate(w)
        assert a.ts == pytest.approx(b.ts, rel=1e-6, abs=1e-9) and a.pixel == b.pixel
        assert a.mean_lambda == pytest.approx(b.mean_lambda, rel=1e-3)


def test_cli_followup_and_retraction(real, tmp_path):
    parser = argparse.ArgumentParser(prog="icecore")
    sub = parser.add_subparsers(dest="cmd", required=True)
    cli.register(sub)
    bgdir = str(real / "ps" / "IC86-2011_PS-release")
    args = parser.parse_args(["lvk", "followup", str(real / "gw" / "multiorder" / "S190814bv_bayestar.multiorder.fits"),
                              "--time", "2019-08-14T21:10:39.013", "--superevent", "S190814bv", "--simulate", "0",
                              "--background", bgdir, "--out", str(tmp_path / "a"), "--nside", "64", "--trials", "300",
                              "--no-plot"])
    assert args.func(args) == 0
    notice = json.loads((tmp_path / "a" / "notice.json").read_text())
    assert notice["ref_ID"] == "S190814bv" and notice["observation_livetime"] == 1000.0
    args = parser.parse_args(["lvk", "followup", str(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_retraction.json"),
                              "--background", bgdir, "--out", str(tmp_path / "b")])
    assert args.func(args) == 0
    assert (tmp_path / "b" / "retraction.json").exists() and not (tmp_path / "b" / "notice.json").exists()


def test_plot_written(followup, tmp_path):
    pytest.importorskip("matplotlib")
    paths = write_products(followup, tmp_path, plot=True)
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
