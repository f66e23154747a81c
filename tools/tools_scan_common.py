"""Shared pieces of the scan study tools (fast vs exact, fitter-option variants, maps at the truth)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from icecore.coords import angular_distance_deg
from icecore.scan import ScanSettings, make_problem, run_problem

__all__ = ["CONVENTIONS", "OUT", "REACH_DEG", "cpu_s", "one_scan"]

CONVENTIONS = ("wilks", "icecube-calibrated")
OUT = Path(__file__).resolve().parent / "results"
#: distance (deg) within which a level's pixel centres "reach" a position (nside 8, 64, 512)
REACH_DEG = {8: 4.0, 64: 0.5, 512: 0.07}


def cpu_s() -> float:
    """CPU seconds of this process (user + system, all threads)."""
    t = os.times()
    return t.user + t.system



def one_scan(ev, fitter_options: dict, settings: ScanSettings, truth) -> dict:
    """Scan ``ev`` (2 threads) and summarise: CPU, evaluations, best pixel, areas, truth inside."""
    prob = make_problem(ev, fitter_options=fitter_options)
    c0 = cpu_s()
    res = run_problem(prob, settings, threads=2, progress=False)
    cpu = cpu_s() - c0
    best = res.best_fit
    out = {"cpu_s": round(cpu, 3), "evaluations": int(res.n_eval.sum()), "fits": int(len(res.nside)),
           "best": [best["nside"], best["pixel"]], "best_neg_llh": best["neg_llh"],
           "offset_deg": float(angular_distance_deg(best["ra_deg"], best["dec_deg"], *truth)),
           "polish_evaluations": int(res.info.get("polish_evaluations", 0)),
           "polish_fits": int(sum(res.info.get("polish_fits_per_level", []))),
           "polish_improved": int(sum(res.info.get("polish_improved_per_level", []))),
           "failed_per_nside": {str(ns): int(np.count_nonzero(res.status[res.nside == ns])) for ns in settings.nsides},
           "fits_per_nside": {str(ns): int(np.count_nonzero(res.nside == ns)) for ns in settings.nsides}}
    for conv in CONVENTIONS:
        areas = res.areas_deg2(conv)
        for lev in ("50", "90"):
            out[f"area_{conv}_{lev}"] = float(areas[lev])
            out[f"inside_{conv}_{lev}"] = bool(res.contains(truth[0], truth[1], lev, conv)[()])
    return out
