#!/usr/bin/env python
"""Median angular error of icecore.likelihood.fit_track on simulated through-going muons.

Draws N muons with energies log-uniform in [100 TeV, 1 PeV], directions uniform in
cos(zenith) in [-0.2, 1] (down-going and slightly up-going) and azimuth, impact parameter
uniform in a 250 m disk, simulated without model mismatch (or with ``--mismatch``), and
reports the median / 68 % / 90 % angular error of LineFit, SPE and MPE.

Usage: PYTHONPATH=python python tools/fit_track_accuracy.py [-n 100] [--seed 1] [--mismatch] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from icecore.coords import angular_distance_deg
from icecore.likelihood import fit_track, simulate_track


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mismatch", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    errs = {"linefit": [], "spe": [], "mpe": []}
    nhit = []
    t0 = time.perf_counter()
    for _ in range(args.n):
        e = 10 ** rng.uniform(2, 3)
        zen = float(np.degrees(np.arccos(rng.uniform(-0.2, 1.0))))
        azi = float(rng.uniform(0, 360))
        ev = simulate_track(e, zen, azi, seed=int(rng.integers(2**31)), max_impact_m=250.0, mismatch=args.mismatch)
        nhit.append(ev.meta["truth"]["n_hit_doms"])
        r = fit_track(ev, threads=args.threads)
        def sep(z: float, a: float, zen: float = zen, azi: float = azi) -> float:
            return float(angular_distance_deg(a, 90 - z, azi, 90 - zen))

        errs["linefit"].append(sep(r.linefit.zenith_deg, r.linefit.azimuth_deg))
        errs["spe"].append(sep(r.spe["zenith_deg"], r.spe["azimuth_deg"]))
        errs["mpe"].append(sep(r.zenith_deg, r.azimuth_deg))
    dt = time.perf_counter() - t0
    summary = {
        "n_events": args.n,
        "mismatch": args.mismatch,
        "median_hit_doms": float(np.median(nhit)),
        "seconds_per_event": dt / args.n,
        **{
            k: {
                "median_deg": float(np.median(v)),
                "q68_deg": float(np.quantile(v, 0.68)),
                "q90_deg": float(np.quantile(v, 0.90)),
            }
            for k, v in errs.items()
        },
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.n} events (mismatch={args.mismatch}), median {summary['median_hit_doms']:.0f} hit DOMs, "
              f"{summary['seconds_per_event']:.2f} s/event")
        for k in errs:
            s = summary[k]
            print(f"  {k:8s} median {s['median_deg']:.3f} deg  68% {s['q68_deg']:.3f}  90% {s['q90_deg']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
