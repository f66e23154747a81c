"""Per-event (Neyman-style) calibration of the contour levels: icecore.scan.calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from icecore import likelihood as lk
from icecore.errors import InputError
from icecore.scan import calibration as cal
from icecore.scan import contours as _c
from icecore.scan.events import event_to_json, simulate_event

WILKS50, WILKS90 = -2 * np.log(0.5), -2 * np.log(0.1)  # chi2(2 dof): 1.386, 4.605


@pytest.fixture(scope="module")
def toy():
    # SYNTHETIC: -lnL = kappa (1 - cos psi) around a maximum drawn from the model -> 2 dLLH at the
    # truth is chi2 with 2 dof exactly (no mismatch)
    return simulate_event(seed=3, synthetic=True, energy_tev=200.0, ra_deg=40.0, dec_deg=25.0)


NO_MISMATCH = cal.ResimulationModel(mismatch=False)


def test_synthetic_levels_are_the_chi2_quantiles_within_their_errors(toy):
    c = cal.calibrate_event(toy, n=299, model=NO_MISMATCH, seed=11, threads=1, progress=False)
    assert c.n == 299 and c.n_failed == 0
    assert abs(c.levels["50"] - WILKS50) <= 2 * c.errors["50"]
    assert abs(c.levels["90"] - WILKS90) <= 2 * c.errors["90"]
    assert 0.05 < c.errors["50"] < 0.3 and 0.15 < c.errors["90"] < 1.0   # order-statistic interval, n = 299
    lo, hi = c.intervals["90"]
    assert lo < c.levels["90"] < hi
    assert np.mean(c.samples) == pytest.approx(2.0, abs=0.35)          # chi2(2) mean
    # with the mismatch switch the toy scatters 1.5x wider: levels scale by 1.5^2
    w = cal.calibrate_event(toy, n=299, model=cal.ResimulationModel(mismatch=True), seed=11, threads=1,
                            progress=False)
    assert w.levels["90"] / c.levels["90"] == pytest.approx(2.25, rel=0.02)


def test_same_seed_same_levels_whatever_the_threads(toy):
    a = cal.calibrate_event(toy, n=19, model=NO_MISMATCH, seed=5, threads=1, progress=False)
    b = cal.calibrate_event(toy, n=19, model=NO_MISMATCH, seed=5, threads=2, progress=False)
    d = cal.calibrate_event(toy, n=19, model=NO_MISMATCH, seed=6, threads=1, progress=False)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.levels == b.levels
    assert not np.array_equal(a.samples, d.samples)
    # exact ranks for n = 19: 10th and 18th of the sorted samples
    s = np.sort(a.samples)
    assert a.levels == {"50": s[9], "90": s[17]}


def test_order_statistic_rank_and_interval():
    x = np.arange(1.0, 20.0)  # n = 19
    q = cal.order_statistic_quantile(x[::-1], 0.9)
    assert q["value"] == 18.0 and q["rank"] == 18 and q["nominal_coverage"] == pytest.approx(0.9)
    assert q["lo"] <= q["value"] <= q["hi"] and q["error"] == pytest.approx(0.5 * (q["hi"] - q["lo"]))
    assert cal.order_statistic_quantile(x, 0.5)["value"] == 10.0
    with pytest.raises(InputError, match="'n'"):
        cal.order_statistic_quantile(np.arange(5.0), 0.9)


def test_bad_arguments_name_the_argument(toy):
    with pytest.raises(InputError, match="'n'"):
        cal.calibrate_event(toy, n=5)
    with pytest.raises(InputError, match="'n'"):
        cal.calibrate_event(toy, n=10.5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'levels'"):
        cal.calibrate_event(toy, n=19, levels=(0.5, 1.5))
    with pytest.raises(InputError, match="'n'"):
        cal.calibrate_event(toy, n=19, levels=(0.99,))
    with pytest.raises(InputError, match="'model'"):
        cal.calibrate_event(toy, n=19, model="mismatch")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'minimum'"):
        cal.ResimulationModel(minimum="anywhere")
    with pytest.raises(InputError, match="'energy_tev'"):
        cal.ResimulationModel(energy_tev=-1.0)
    with pytest.raises(InputError, match="'event'"):
        cal.calibrate_event(object(), n=19)
    with pytest.raises(InputError, match="EventCalibration"):
        _c.get_convention("per-event")


def test_per_event_convention_plumbs_into_areas_summary_and_fits_cards(toy):
    from icecore.scan import scan
    from icecore.scan.products import header_cards

    res = scan(toy, threads=1, progress=False)  # analytic fitter: the full 8/64/512 scan is cheap
    c = cal.calibrate_event(toy, result=res, n=19, model=NO_MISMATCH, seed=2, threads=1, progress=False)
    areas = res.areas_deg2(c)
    assert areas == res.areas_deg2(c.critical_values)
    # analytic cap: 2 dLLH <= level is pi level / kappa sr
    for label in ("50", "90"):
        cap = np.pi * c.levels[label] / toy.kappa * _c.SQDEG_PER_SR
        assert areas[label] == pytest.approx(cap, rel=0.05)
    s = res.summary([c, "wilks"])
    pe = s["contours"]["per-event"]["convention"]
    assert pe["levels"] == c.levels and pe["errors"] == c.errors
    cards = {k: v for k, v, _ in header_cards(res, [c])}
    assert cards["CONV1"] == "per-event" and cards["LV90_1"] == pytest.approx(c.levels["90"], rel=1e-5)
    assert cards["LE90_1"] == pytest.approx(c.errors["90"], rel=1e-5)
    assert bool(res.contains(toy.true_ra_deg, toy.true_dec_deg, "90", c)) == bool(
        _c.values_at(res.statistic_map(), toy.true_ra_deg, toy.true_dec_deg)[0] <= c.levels["90"])
    json.dumps(c.as_dict())


def test_photon_event_calibration_and_energy_estimate():
    ev = simulate_event(seed=4, energy_tev=30.0, mismatch=True, dec_deg=-20.0, ra_deg=100.0)
    best = cal.best_fit_of(ev)
    truth = lk.direction_vector(ev.meta["truth"]["zenith_deg"], ev.meta["truth"]["azimuth_deg"])
    fit = lk.direction_vector(best.zenith_deg, best.azimuth_deg)
    assert np.degrees(np.arccos(np.clip(truth @ fit, -1, 1))) < 10.0
    e = cal.estimate_energy_tev(ev, best, seed=1)
    assert 30.0 / 4 < e < 30.0 * 4
    model = cal.ResimulationModel(minimum="truth", energy_tev=e)
    c = cal.calibrate_event(ev, n=10, model=model, seed=1, threads=2, best_fit=best, progress=False)
    assert c.n + c.n_failed == 10 and c.n >= 9
    assert 0 <= c.levels["50"] <= c.levels["90"] and np.isfinite(c.levels["90"])
    assert c.cost["fits"] > 10 * 10 and c.cost["cpu_s"] > 0
    assert c.best_fit.energy_tev == pytest.approx(e)
    # the default (tuned) global factors scale the order statistics of a mismatched photon event
    for lab, q in (("50", 0.5), ("90", 0.9)):
        assert c.raw_levels[lab] == cal.order_statistic_quantile(c.samples, q)["value"]
        assert c.level_factors[lab] == cal.TUNED_LEVEL_FACTORS[q]
        assert c.levels[lab] == pytest.approx(c.raw_levels[lab] * cal.TUNED_LEVEL_FACTORS[q])


def test_cli_calibrate_synthetic(tmp_path, capsys):
    from icecore.cli import main

    ev = tmp_path / "ev.json"
    ev.write_text(event_to_json(simulate_event(seed=8, synthetic=True)))
    out = tmp_path / "cal.json"
    assert main(["scan", "calibrate", str(ev), "--n", "19", "--no-mismatch", "--threads", "1", "--seed", "3",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "per-event critical values" in text and "19 resimulations" in text
    d = json.loads(out.read_text())["calibration"]
    assert d["n"] == 19 and set(d["levels"]) == {"50", "90"} and d["model"]["mismatch"] is False
    assert main(["scan", "calibrate", str(ev), "--n", "3"]) != 0
    assert main(["scan", "calibrate", str(ev), "--n", "10", "--no-mismatch", "--threads", "1", "--truth", "iterated",
                 "--no-level-factor", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["calibration"]
    assert d["model"]["truth"] == "iterated" and d["model"]["level_factor"] is None and len(d["second_samples"]) == 10


def test_level_factor_rule():
    m = cal.ResimulationModel()  # defaults: best-fit bootstrap with the tuned global factors
    assert m.truth == "best-fit" and m.level_factor == "tuned"
    assert m.factor(0.5) == pytest.approx(cal.TUNED_LEVEL_FACTORS[0.5]) and m.factor(0.5) > 1.0
    assert m.factor(0.9) == pytest.approx(cal.TUNED_LEVEL_FACTORS[0.9]) and m.factor(0.9) > 1.0
    g = cal.ResimulationModel(level_factor={0.5: 1.1, 0.9: 1.3})
    assert g.factor(0.7) == pytest.approx(1.2)                                       # linear in between
    assert g.factor(0.99) == pytest.approx(1.3) and g.factor(0.2) == pytest.approx(1.1)  # constant outside
    # tuned only where it was tuned: photon events, mismatch on, best-fit resimulations
    assert m.factor(0.9, photon=False) == 1.0
    assert cal.ResimulationModel(mismatch=False).factor(0.9) == 1.0
    assert cal.ResimulationModel(truth="iterated").factor(0.9) == 1.0
    assert cal.ResimulationModel(level_factor=None).factor(0.9) == 1.0
    assert cal.ResimulationModel(level_factor={0.9: 2.0}).factor(0.5) == 2.0
    with pytest.raises(InputError, match="'level_factor'"):
        cal.ResimulationModel(level_factor={0.9: -1.0})
    with pytest.raises(InputError, match="'level_factor'"):
        cal.ResimulationModel(level_factor="loose")
    with pytest.raises(InputError, match="'truth'"):
        cal.ResimulationModel(truth="oracle")


def test_iterated_bootstrap_levels_are_q1_squared_over_q2(toy):
    c = cal.calibrate_event(toy, n=19, model=cal.ResimulationModel(mismatch=False, truth="iterated"), seed=4,
                            threads=1, progress=False)
    assert c.samples.size == 19 and c.second_samples.size == 19 and c.cost["resimulations"] == 38
    for lab, q in (("50", 0.5), ("90", 0.9)):
        q1 = cal.order_statistic_quantile(c.samples, q)["value"]
        q2 = cal.order_statistic_quantile(c.second_samples, q)["value"]
        assert c.raw_levels[lab] == pytest.approx(q1 * q1 / q2) and c.level_factors[lab] == 1.0
        assert c.levels[lab] == c.raw_levels[lab]
        assert c.intervals[lab][0] < c.levels[lab] < c.intervals[lab][1]


def test_committed_coverage_study_backs_the_default_model():
    # the default per-event method must be the one tools/per_event_coverage.py validated (SIMULATION,
    # mismatch on) on events it was not tuned on, and its coverage there must be on target; the old plain
    # bootstrap failed this (45.8 +- 2.2 % / 84.6 +- 1.6 % on 500 events)
    path = Path(__file__).resolve().parents[2] / "tools" / "results" / "per_event_coverage_validation_seed2030.json"
    assert path.exists(), f"{path}: the committed validation study is missing (tools/per_event_coverage.py)"
    d = json.loads(path.read_text())
    m = d["resimulation_model"]
    default = cal.ResimulationModel()
    assert (m["truth"], m["level_factor"], m["mismatch"], m["minimum"]) == (
        default.truth, default.level_factor, default.mismatch, default.minimum)
    assert d["level_factors_used"] == {"50": default.factor(0.5), "90": default.factor(0.9)}
    assert d["seed"] not in d["tuned_on_seeds"] and not d["in_sample"]    # validated on independent events
    assert d["n_events"] >= 200
    # the cheap statistic covers at 50 %; at 90 % it over-covers a little, because the 90 % factor is tuned
    # on the contours as drawn, which also see minima far from the truth (below)
    c50, c90 = d["coverage"]["per-event"]["50"], d["coverage"]["per-event"]["90"]
    assert abs(c50["fraction"] - 0.50) <= 0.03, c50
    assert 0.87 <= c90["fraction"] <= 0.95, c90


def test_committed_scan_maps_study_backs_the_default_model():
    # what a user sees: the per-event contours drawn on full scan maps (SIMULATION, mismatch on) of >= 500
    # events the 90 % factor was not tuned on must hold the truth in 50 +- 3 % / 90 +- 3 % of them, with the
    # library's default factors and the default (quadratic) surface; bilinear interpolation failed this
    # (42.4 +- 2.2 % at 50 % on the same maps)
    path = Path(__file__).resolve().parents[2] / "tools" / "results" / "scan_maps_coverage_seed2030.json"
    assert path.exists(), f"{path}: the committed scan-map study is missing (tools/scan_maps_coverage.py)"
    d = json.loads(path.read_text())
    default = cal.ResimulationModel()
    assert d["level_factors_used"] == pytest.approx({"50": default.factor(0.5), "90": default.factor(0.9)})
    assert d["n_maps"] >= 500
    for lab, q in (("50", 0.50), ("90", 0.90)):
        c = d["coverage"]["map"][lab]
        assert abs(c["percent"] / 100 - q) <= 0.03, (lab, c)
    # the tuning on these independent maps agrees with the committed factor within its error
    t = d["map_tuning"]["90"]
    assert abs(t["factor"] - default.factor(0.9)) <= 2 * t["error"]
