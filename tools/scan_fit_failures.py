"""Fit-failure rate of the scan's vertex fits per level on simulated muons (issue #12: < 1 % at
every level). Scans ``simulate_event(seed=2000 + k)`` (isotropic, 30-1000 TeV log-uniform) with the
default fitter options on an 8/64 schedule (extension 2: the nside-8 level with its per-level
seeds and one refinement level), counts fits with status != 0 per nside.

Usage: nice -n 10 python tools/scan_fit_failures.py [--events 50]; writes
tools/results/scan_fit_failures.json incrementally.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from icecore.scan import ScanSettings, make_problem, run_problem
from icecore.scan.events import simulate_event

OUT = Path(__file__).resolve().parent / "results" / "scan_fit_failures.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50)
    args = ap.parse_args()
    settings = ScanSettings(nsides=(8, 64), extensions=(2.0,))
    rng = np.random.default_rng(7)
    energies = np.exp(rng.uniform(np.log(30.0), np.log(1000.0), args.events))
    rows = []
    for k in range(args.events):
        ev = simulate_event(seed=2000 + k, energy_tev=float(energies[k]), mjd=60000.0)
        res = run_problem(make_problem(ev), settings, threads=2, progress=False)
        rows.append({"seed": 2000 + k, "energy_tev": round(float(energies[k]), 2),
                     "fits": {str(ns): int(np.count_nonzero(res.nside == ns)) for ns in settings.nsides},
                     "failed": {str(ns): int(np.count_nonzero(res.status[res.nside == ns])) for ns in settings.nsides},
                     "evals_per_fit": {str(ns): round(float(res.n_eval[res.nside == ns].mean()), 1)
                                       for ns in settings.nsides}})
        total = {ns: (sum(r["failed"][str(ns)] for r in rows), sum(r["fits"][str(ns)] for r in rows))
                 for ns in settings.nsides}
        summary = {"events": len(rows), "failed_over_fits_per_nside": {str(ns): list(v) for ns, v in total.items()},
                   "failure_rate_per_nside": {str(ns): v[0] / max(v[1], 1) for ns, v in total.items()},
                   "max_event_failure_rate": max(r["failed"][s] / max(r["fits"][s], 1)
                                                 for r in rows for s in r["fits"])}
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps({"settings": {"nsides": [8, 64], "extensions": [2.0],
                                                "fitter_options": "DEFAULT_FITTER_OPTIONS"},
                                   "note": "simulated events (icecore.likelihood.simulate_track)",
                                   "summary": summary, "events": rows}, indent=1) + "\n")
        print(k, summary["failed_over_fits_per_nside"], flush=True)


if __name__ == "__main__":
    main()
