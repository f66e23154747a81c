"""A full flare search over a **simulated** 10-year sample with >= 1000 background trials, in bounded memory.

Only IC40 events of the real 10-year release are available here, so the sample is simulated: the toy
detector of :func:`icecore.ps.simulate_public_data` in the 10-year layout (IC40 .. IC86_VII, ten
seasons, equal background rates), with a simulated Gaussian flare (``--flare-n`` events, gamma 2) added
to IC86_III by :func:`icecore.ps.flare.inject_flare_events`. One Gaussian flare search runs over all
ten seasons together (``FlareSearch(..., season="all")``), then background trials (times scrambled in
the union of the good runs) in batches into a :class:`BackgroundTS` (fixed-size histogram + tail).
The trials keep every event's direction (the merged seasons have no RA scramble), so the simulated
flare's events stay at the source in every trial and the background TS is inflated (a conservative
p-value); this run is about run time and memory over ten seasons. Peak memory: tracemalloc (Python
allocations, numpy included) and ru_maxrss (the whole process); the bounds are asserted.
Results: ``tools/results/ps_flare_10yr.json``.

Usage::

    nice -n 10 env PYTHONPATH=python python tools/ps_flare_10yr.py --trials 1000 --n-events 20000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from icecore.ps import load_public_data, simulate_public_data
from icecore.ps.flare import FlareSearch, inject_flare_events
from icecore.ps.toy import TOY_SEASONS_10Y
from icecore.stats import BackgroundTS

OUT = Path(__file__).resolve().parent / "results" / "ps_flare_10yr.json"
SRC = (150.0, 20.0)
TRACED_BOUND_MB = 300.0  # Python-side peak during the trials
RSS_BOUND_MB = 1500.0  # whole process


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-events", type=int, default=20_000, help="background events per season")
    ap.add_argument("--flare-n", type=int, default=12)
    ap.add_argument("--n-seed", type=int, default=20, help="candidate flare centres (FlareSearch n_seed)")
    ap.add_argument("--n-sigma", type=int, default=10, help="widths on the log grid (FlareSearch n_sigma)")
    a = ap.parse_args()
    res: dict = {"data": "SIMULATED: icecore toy detector, 10-year layout, plus a simulated Gaussian flare",
                 "seasons": list(TOY_SEASONS_10Y), "n_events_per_season": a.n_events, "source": SRC}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "toy10y"
        simulate_public_data(root, seasons=TOY_SEASONS_10Y, n_events=a.n_events, seed=2016)
        s = load_public_data(root, seasons=["IC86_III"])["IC86_III"]
        mid = float(0.5 * (s.uptime_mjd[0, 0] + s.uptime_mjd[-1, 1]))
        inject_flare_events(root, "IC86_III", *SRC, a.flare_n, gamma=2.0, mean_mjd=mid, sigma_days=15.0, seed=7)
        res["injected"] = {"season": "IC86_III", "n": a.flare_n, "gamma": 2.0, "mean_mjd": mid, "sigma_days": 15.0}
        data = load_public_data(root)
        res["n_events_total"] = int(sum(len(x) for x in data))
        t0 = time.time()
        fs = FlareSearch(data, *SRC, season="all", threads=a.threads, n_seed=a.n_seed, n_sigma=a.n_sigma)
        res["settings"] = {"n_seed": a.n_seed, "n_sigma": a.n_sigma, "threads": a.threads, "batch": a.batch}
        res["setup_s"] = time.time() - t0
        res["stored_events"] = int(len(fs.sample.t_mjd))
        res["livetime_days"] = fs.livetime_days
        del data
    t0 = time.time()
    r = fs.fit("gauss")
    res["fit"] = {**r.to_dict(), "seconds": time.time() - t0}
    tracemalloc.start()
    bg = BackgroundTS()
    rng = np.random.default_rng(1)
    t0 = time.time()
    done = 0
    while done < a.trials:
        k = min(a.batch, a.trials - done)
        bg.add(fs.trials(k, "gauss", seed=rng)["ts"])
        done += k
    res["trials"] = {"n": bg.n, "seconds": time.time() - t0, "median_ts": bg.median(),
                     "p_flare": bg.pvalue_detail(r.ts).to_dict()}
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    res["memory"] = {"tracemalloc_peak_mb_during_trials": peak / 2**20,
                     "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "bounds_mb": {"tracemalloc": TRACED_BOUND_MB, "rss": RSS_BOUND_MB}}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=float))
    print(json.dumps(res, indent=1, default=float))
    assert bg.n >= 1000 or a.trials < 1000
    assert res["memory"]["tracemalloc_peak_mb_during_trials"] < TRACED_BOUND_MB
    assert res["memory"]["ru_maxrss_mb"] < RSS_BOUND_MB


if __name__ == "__main__":
    main()
