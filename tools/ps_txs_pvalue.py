"""The pre-trial p-value of the 2014-15 TXS 0506+056 flare on the real TXS release: what it depends on.

Real data: the TXS 0506+056 release, season IC86b (2012-05-16 .. 2015-05-18, 320 events within 3 deg),
good runs from the 10-year release's uptime files; the IC86-2011 point-source release for the
background energy PDF of the wider sample. Nothing here is simulated (the trials are scrambles of the
real events). Four ways to build the background, each with its own observed TS and trials:

* B_E "cone": the density of log10 E of the release's own 320 events (last session's method);
* B_E "ic86-2011": of the IC86-2011 release's events within 3 deg of the source's declination (8.9 k
  events, the same IC86 event selection -- checked below by matching IC86a events -- one year earlier);
* trials "time": times scrambled in live time, directions kept (so the events of the flare stay at the
  source in every trial);
* trials "time+ra": also a new right ascension on each event's declination circle within the cone;
* trials "resample": every trial draws 320 events afresh -- (log10 E, AngErr) pairs of the IC86-2011
  band sample, directions uniform in the cone, times uniform in live time -- what the cone holds in a
  full-sky scramble, where the flare's own events would almost all leave the cone.

For each variant: observed TS (Gaussian flare search), n trials, the empirical p-value and
BackgroundTS's p-value with its method, tail model and goodness of fit. Written incrementally to
``tools/results/ps_txs_pvalue.json``.

Usage (the main variant's trials can be stopped at any time: results are written after each batch)::

    nice -n 10 env PYTHONPATH=python python tools/ps_txs_pvalue.py --trials-main 10000 --trials 2000 --threads 2
    nice -n 10 env PYTHONPATH=python python tools/ps_txs_pvalue.py --variants 1,2,3 --trials 300 \
        --out tools/results/ps_txs_pvalue_variants.json
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import numpy as np
from scipy import stats

from icecore.ps.flare import FlareSearch, _angular_distance
from icecore.ps.releases import TXS_DEC_DEG, TXS_RA_DEG, load_release
from icecore.stats import BackgroundTS

REAL = Path("/work/shared/data/real/ps")
OUT = Path(__file__).resolve().parent / "results" / "ps_txs_pvalue.json"
PAPER = {"mean_mjd": 57004, "T_W_days": 110, "ns": 13, "gamma": 2.1, "p_pre_trial": 7e-5,
         "reference": "IceCube, Science 361, 147 (2018), Table 1 (IC86b, Gaussian window)"}


def match_ic86a(ic, txs_a) -> dict:
    """How many IC86a events of the TXS release are in the IC86-2011 release (same MJD day, RA, Dec, log E)."""
    psi = np.degrees(_angular_distance(np.radians(ic.ra_deg), np.radians(ic.dec_deg), math.radians(TXS_RA_DEG),
                                       math.radians(TXS_DEC_DEG)))
    j = np.flatnonzero(psi < 3.3)
    n, de = 0, []
    for i in range(len(txs_a)):
        ok = (np.abs(ic.mjd[j] - txs_a.mjd[i]) < 1.0) & (np.abs(ic.ra_deg[j] - txs_a.ra_deg[i]) < 0.06) & \
             (np.abs(ic.dec_deg[j] - txs_a.dec_deg[i]) < 0.06)
        if ok.any():
            n += 1
            k = j[ok][0]
            de.append(float(ic.log10_e[k] - txs_a.log10_e[i]))
    return {"txs_ic86a_events": len(txs_a), "found_in_ic86_2011": n,
            "max_abs_dlog10e": float(np.max(np.abs(de))) if de else None,
            "ic86_2011_events_in_cone": int(np.sum(psi < 3.0))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials-main", type=int, default=10000)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--variants", default="0,1,2,3", help="which variants (indices into the list below)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    out = a.out

    txs = load_release(REAL / "TXS0506_release", seasons=["IC86a", "IC86b"])
    ic = load_release(REAL / "IC86-2011_PS-release").seasons[0]
    band = np.abs(ic.dec_deg - TXS_DEC_DEG) < 3.0
    e_band = ic.log10_e[band]
    ks = stats.ks_2samp(txs["IC86b"].log10_e, e_band)
    res: dict = {"paper": PAPER, "data": "real: TXS 0506+056 release IC86b; IC86-2011 PS release (B_E)",
                 "ic86a_match": match_ic86a(ic, txs["IC86a"]),
                 "b_e_sample": {"ic86_2011_band_events": int(band.sum()), "band_deg": 3.0,
                                "ks_ic86b_vs_band": [float(ks.statistic), float(ks.pvalue)],
                                "note": "IC86-2011 log10 E is rounded to 0.1 (ties weaken the KS test)"},
                 "threads": a.threads, "variants": {}}
    variants = [("ic86-2011", "time+ra", a.trials_main), ("cone", "time", a.trials), ("cone", "time+ra", a.trials),
                ("ic86-2011", "time", a.trials), ("ic86-2011", "resample", a.trials_main)]
    out.parent.mkdir(exist_ok=True)
    for be, scr, n in (variants[int(i)] for i in a.variants.split(",")):
        kw: dict = {} if be == "cone" else {"background_log10_e": e_band, "background_rounding": 0.1}
        if scr == "resample":
            kw["background_events"] = (e_band, ic.angerr_deg[band])
        fs = FlareSearch(txs, TXS_RA_DEG, TXS_DEC_DEG, season="IC86b", threads=a.threads, **kw)
        obs = fs.fit("gauss")
        bg = BackgroundTS()
        rng = np.random.default_rng(20180713)
        t0 = time.time()
        done = 0
        key = f"B_E={be}, trials={scr}"
        while done < n:
            k = min(a.batch, n - done)
            bg.add(fs.trials(k, "gauss", seed=rng, scramble=scr)["ts"])
            done += k
            d = bg.pvalue_detail(obs.ts)
            tail = bg.fit_tail() if bg.n >= 200 else {}
            res["variants"][key] = {
                "observed": {"ts": obs.ts, "ns": obs.ns, "gamma": obs.gamma, "mean_mjd": obs.mean_mjd,
                             "sigma_days": obs.sigma_days},
                "n_trials": bg.n, "n_above": float(bg.count_above(obs.ts)), "median_ts": bg.median(),
                "p_empirical": bg.count_above(obs.ts) / bg.n,
                "p_backgroundts": d.to_dict(),
                "tail": {k2: v for k2, v in tail.items() if isinstance(v, (int, float, str, bool))},
                "seconds": time.time() - t0}
            res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            out.write_text(json.dumps(res, indent=1, default=float))
        print(key, res["variants"][key]["observed"]["ts"], res["variants"][key]["p_backgroundts"], flush=True)


if __name__ == "__main__":
    main()
