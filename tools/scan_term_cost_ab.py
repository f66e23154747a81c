"""The full default scan of the bench muon with one build of icecore._core (issue #12, term cost).

Runs ``run_problem`` on the default 8/64/512 schedule with the default fitter options
(``likelihood="fast"``), threads=2, and appends to a JSON file: the label, wall and CPU seconds
(user + sys of this process), likelihood evaluations, ns per DOM term, failed fits, the best
pixel and its -lnL, and the 50 %/90 % areas (Wilks and IceCube-calibrated); the per-pixel values
go next to it (``<stem>_<label>.npz``). Run it once per build (the build's package first on
PYTHONPATH), back to back, to compare builds under the same load::

    nice -n 10 python tools/scan_term_cost_ab.py LABEL [out.json]

Timings on the shared machine are only comparable within one back-to-back pair.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from icecore.scan import ScanSettings, make_problem, run_problem
from icecore.scan.events import simulate_event


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main(label: str, out: Path) -> None:
    muon = simulate_event(seed=11, energy_tev=200.0, mjd=60000.0)
    prob = make_problem(muon)  # default fitter options: likelihood="fast" (table built here)
    c0, w0 = _cpu(), time.perf_counter()
    res = run_problem(prob, ScanSettings(), threads=2, progress=False)
    cpu, wall = _cpu() - c0, time.perf_counter() - w0
    i = int(np.argmin(res.neg_llh))
    nev = int(res.n_eval.sum())
    row = {
        "label": label, "so": __import__("icecore._core", fromlist=["x"]).__file__,
        "cpu_s": cpu, "wall_s": wall, "evaluations": nev, "n_doms": prob.fitter.n_doms,
        "ns_per_dom_term": 1e9 * cpu / (nev * prob.fitter.n_doms),
        "failed_fits": int(np.count_nonzero(res.status)), "fits": int(res.neg_llh.size),
        "best_nside": int(res.nside[i]), "best_pixel": int(res.pixel[i]), "best_neg_llh": float(res.neg_llh[i]),
        "areas_deg2": {c: res.areas_deg2(c) for c in ("wilks", "icecube-calibrated")},
        "load_avg_1min": os.getloadavg()[0],
    }
    np.savez_compressed(out.with_name(f"{out.stem}_{label}.npz"), nside=res.nside, pixel=res.pixel,
                        neg_llh=res.neg_llh, status=res.status, n_eval=res.n_eval)  # per-pixel, for diffs
    rows = json.loads(out.read_text()) if out.exists() else []
    rows.append(row)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "results" / "scan_term_cost_ab.json"
    main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else default)
