"""CPU ns per DOM term of the vertex fit, exact vs fast, single thread, same process (issue #12).

Fits 40 fixed directions within ~3 deg of the bench muon's truth from the LineFit vertex (1 + 6
ring seeds), threads=1, and prints CPU seconds, evaluations and ns per (evaluation x hit DOM).
Usage: python tools/term_cost.py [repeats]"""
from __future__ import annotations

import sys
import time

import numpy as np

from icecore import likelihood as lk
from icecore.scan.events import simulate_event


def main(repeats: int = 3) -> None:
    muon = simulate_event(seed=11, energy_tev=200.0, mjd=60000.0)
    rng = np.random.default_rng(5)
    t = muon.meta["truth"]
    n = 40
    zen = np.radians(t["zenith_deg"] + rng.normal(0, 3.0, n))
    azi = np.radians(t["azimuth_deg"] + rng.normal(0, 3.0, n))
    seeds = np.tile(np.asarray(lk.linefit(muon).vertex, float), (n, 1))
    for kind in ("exact", "fast"):
        f = lk.TrackLikelihood(muon, "mpe", likelihood=kind, n_ring=6)
        best = None
        for _ in range(repeats):
            c0 = time.process_time()
            r = f.fit_batch(zen, azi, seeds, 1)
            c = time.process_time() - c0
            best = c if best is None else min(best, c)
        ev = int(r["n_eval"].sum())
        print(f"{kind}: cpu {best:.3f} s, {ev} evaluations, {1e9 * best / (ev * f.n_doms):.1f} ns per DOM term")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
