"""Quick measurement of the full default scan of the bench event (issue #12): wall, CPU,
fits, evaluations per level, failed fits, areas. Usage: python tools/quickscan.py [exact|fast ...]
[--opt key=value ...]"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from icecore.scan import ScanSettings, make_problem, run_problem
from icecore.scan.events import simulate_event


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str]) -> None:
    kinds = [a for a in argv if a in ("exact", "fast")] or ["fast"]
    opts: dict = {}
    for a in argv:
        if "=" in a:
            k, v = a.split("=", 1)
            opts[k] = json.loads(v)
    muon = simulate_event(seed=11, energy_tev=200.0, mjd=60000.0)
    for kind in kinds:
        c0 = _cpu()
        prob = make_problem(muon, fitter_options={"likelihood": kind, **opts})
        cb = _cpu() - c0
        t = time.perf_counter()
        c = _cpu()
        res = run_problem(prob, ScanSettings(), threads=2, progress=False)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        i = int(np.argmin(res.neg_llh))
        lev = {}
        for ns in (8, 64, 512):
            s = res.nside == ns
            lev[ns] = (int(s.sum()), int(res.n_eval[s].sum()), round(float(res.n_eval[s].mean()), 1),
                       int(np.count_nonzero(res.status[s])))
        print(kind, opts, f"build_cpu {cb:.2f} wall {wall:.2f} cpu {cpu:.2f} evals {int(res.n_eval.sum())}",
              "best", (int(res.nside[i]), int(res.pixel[i])), f"{res.neg_llh[i]:.6f}")
        print("  per level (fits, evals, evals/fit, failed):", lev)
        print("  wilks", {k: round(v, 4) for k, v in res.areas_deg2("wilks").items()},
              "calib", {k: round(v, 4) for k, v in res.areas_deg2("icecube-calibrated").items()})


if __name__ == "__main__":
    main(sys.argv[1:])
