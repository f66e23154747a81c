"""BackgroundTS's extrapolation from 10^4 point-source trials against 10^6 brute-force trials.

The reference quantiles (``data/ps_tail_reference.json``) were made once by
``tools/ps_tail_reference.py`` (provenance inside the file): 10^6 RA-scrambled background trials
of the point-source likelihood on toy data at Dec +5.7 and -30 deg. Here a fresh set of 10^4
trials (another seed) is fitted; the fitted tail's thresholds at 3 sigma and at p = 1e-4 and
2e-5 (the largest simulated quantile, both beyond the trials) must agree with the reference
within 2.5 times their stated errors (reference error included) and must not be below it by more
than one stated error; at 3 sigma, which the trials resolve, the fit may be conservative by up to
4 errors. Seed 303 at -30 deg is the case where both tail models fail the goodness-of-fit test:
the old rule (the heavier tail at 5 sigma) took the chi2 there, anti-conservative at 3 sigma by
5.3 errors; now the exponential of the tail region is used and flagged.

Measured on the 100 disjoint 10^4-trial subsets of the 10^6 reference trials
(``tools/ps_tail_choice_study.py`` -> ``tools/results/ps_tail_choice.json``, no new trials), pulls
(fit - reference) / error at 3 sigma, 1e-4, 2e-5: +5.7 deg min -1.31/-1.20/-1.51, mean
+1.18/+0.62/+0.16, width 0.72/0.56/0.44; -30 deg min -1.40/-1.29/-1.13, mean +0.53/+0.16/+0.01,
width 0.75/0.59/0.49 (16 of 100 subsets fail both goodness-of-fit tests there); 11 of the 600
pulls are below -1; on the first 20 subsets every pull is >= -0.59. The same subsets with the
previous rule and no generalised-Pareto alternative: the chi2 taken in 10 of 100 at -30 deg, min
-6.9 at 3 sigma, 33 of 600 pulls below -1 (min -2.4 at 2e-5 at +5.7 deg). If the toy generator or the likelihood changes, rebuild the reference (about
1-10 min): ``PYTHONPATH=python python tools/ps_tail_reference.py``.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from icecore import ps
from icecore.stats import BackgroundTS

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((Path(__file__).parent / "data" / "ps_tail_reference.json").read_text())


def _tool():
    spec = importlib.util.spec_from_file_location("ps_tail_reference", ROOT / "tools" / "ps_tail_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tool = _tool()
    t = REF["provenance"]["toy"]
    root = ps.simulate_public_data(tmp_path_factory.mktemp("toy") / "toy", seasons=t["seasons"],
                                   n_events=t["n_events"], seed=t["seed"])
    if tool.toy_fingerprint(root) != REF["provenance"]["toy_sha256"]:
        pytest.fail("the toy generator changed since tests/stats/data/ps_tail_reference.json was made: rebuild it "
                    "with tools/ps_tail_reference.py")
    return ps.load_public_data(root)


CASES = [(r, 101) for r in REF["declinations"]] + [(r, 303) for r in REF["declinations"] if r["dec_deg"] < 0]


@pytest.mark.parametrize(("ref", "seed"), CASES, ids=[f"dec{r['dec_deg']:+g}-seed{s}" for r, s in CASES])
def test_extrapolation_from_1e4_trials_matches_1e6(toy, ref, seed):
    assert ref["n_trials"] >= 1_000_000
    ana = ps.PointSourceAnalysis(toy, ref["ra_deg"], ref["dec_deg"], threads=2)
    ts = ana.trials(10_000, seed=seed, threads=2, progress=False, batch=10_000).ts
    bg = BackgroundTS().add(ts)
    fit = bg.fit_tail()
    assert fit["selection"] == "auto"
    if seed == 303:  # both models fail here: the tail region's exponential, flagged, never the chi2
        assert not fit["gof"]["chi2"]["ok"] and not fit["gof"]["exponential"]["ok"]
        assert fit["model"] == "exponential" and not fit["gof_ok"]
    else:
        assert fit["gof_ok"]
    assert fit["model"] != "exponential" or "generalised_pareto" in fit["alternatives"]
    old = BackgroundTS(tail="chi2").add(ts)
    for q in ref["quantiles"]:
        if q["p"] > 2e-3:
            continue
        est = bg.threshold_detail(q["p"], method="fit")
        ref_err = 0.5 * (q["ts_hi"] - q["ts_lo"])
        sigma = math.hypot(est.error, ref_err)
        if q["p"] < 1e-3:  # extrapolated beyond the 10^4 trials: within the stated error
            assert abs(est.value - q["ts"]) <= 2.5 * sigma, (q, est)
        else:  # at 3 sigma (resolved by the trials, where auto uses them): the fit may be conservative,
            # since the exponential's slope is set by the whole tail region (+3.1 sigma, +1.1 in TS at +5.7 deg)
            assert -2.5 * sigma <= est.value - q["ts"] <= 4.0 * sigma, (q, est)
        assert est.method == "fit" and est.model == fit["model"] and est.gof_pvalue == fit["gof_pvalue"]
        if q["p"] < 1e-3:  # beyond the 10^4 trials: the public threshold is the fitted one
            assert bg.threshold_detail(q["p"]).value == pytest.approx(est.value)
        assert est.value >= q["ts"] - math.hypot(est.error, ref_err), ("anti-conservative", q, est)
    if ref["dec_deg"] > 0:
        # the old default (eta chi2 fitted to the bulk) undershoots the 1e-4 quantile here by > 3 sigma
        q = next(q for q in ref["quantiles"] if q["p"] == 1e-4)
        assert fit["model"] == "exponential" and not fit["gof"]["chi2"]["ok"]
        assert old.ts_at_pvalue(q["p"]) < q["ts"] - 3 * 0.5 * (q["ts_hi"] - q["ts_lo"])
