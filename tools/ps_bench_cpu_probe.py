"""CPU time (process time, not wall) of the ps bench's steps on two data folders, alternated in one process.

Companion of tools/ps_bench_regression.py for a loaded machine without hardware counters: the same
code runs construction (files -> PointSourceAnalysis, box/skyllh configuration) and unblind on the
old-toy and the new-toy data in alternation, so that both see the same load; the ratio new/old is
the data effect. Run it with another checkout's python/ on PYTHONPATH for the code effect.

    PYTHONPATH=python python tools/ps_bench_cpu_probe.py /tmp/ps_bench_regression/old /tmp/ps_bench_regression/new
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from icecore.ps import PointSourceAnalysis, load_public_data

RA, DEC = 77.35, 5.7


def main() -> None:
    paths = sys.argv[1:3]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    n_unblind = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    cons = {p: [] for p in paths}
    unb = {p: [] for p in paths}
    anas = {}
    for _ in range(rounds):
        for p in paths:
            t = time.process_time()
            anas[p] = PointSourceAnalysis(load_public_data(p), RA, DEC, selection="box", energy_weighting="skyllh")
            cons[p].append(time.process_time() - t)
            a = anas[p]
            a.unblind()
            t = time.process_time()
            for _ in range(n_unblind):
                a.unblind()
            unb[p].append((time.process_time() - t) / n_unblind)
    out = {"code": __import__("icecore").__file__, "rounds": rounds, "n_unblind": n_unblind}
    for p in paths:
        out[p] = {"construct_cpu_s_min": float(np.min(cons[p])), "construct_cpu_s_median": float(np.median(cons[p])),
                  "unblind_cpu_ms_min": 1e3 * float(np.min(unb[p])),
                  "unblind_cpu_ms_median": 1e3 * float(np.median(unb[p]))}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
