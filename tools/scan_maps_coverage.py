"""Do the scan maps' own per-event contours hold the truth? (issue #13 item 1; SIMULATION ONLY).

Events of a ``tools/per_event_coverage.py`` study (default the validation sample ``--seed 2030``,
records with per-event levels in ``tools/results/per_event_coverage_validation_seed2030.jsonl``) are
re-simulated from their seeds (photon simulator, mismatch ON) and fully scanned with the default
scan (8/64/512, likelihood fast, polishing on, 1 thread per process). For each map: the map's
2ΔlnL at the truth as ``ScanResult.contains`` decides membership (the drawn surface: local
quadratics on the finest level, :mod:`icecore.scan.surface`), the same with bilinear
interpolation, the value of the nearest pixel of the finest level reaching the truth, the cheap
statistic of the coverage study (a fit at the truth from the true track against the cheap
minimum), the event's per-event 50 %/90 % levels, the inside flags of all three, the per-event
areas and the CPU time. Events are taken in their order in the study (i.i.d. draws, so a partial
run is an unbiased subsample), every ``--every``-th.

Usage::

    nice -n 10 python tools/scan_maps_coverage.py [--seed 2030] [--every 2] [--offset 0] [--limit N] [--processes 2]
    python tools/scan_maps_coverage.py --summarise

Per-event rows go to ``tools/results/scan_maps_coverage_seed<SEED>.jsonl`` (restartable); the summary
(coverage with binomial errors) to ``.json`` and a plot to ``.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
sys.path.insert(0, str(HERE))

import per_event_coverage as pec  # noqa: E402
from tools_scan_common import REACH_DEG, cpu_s  # noqa: E402

from icecore.coords import angular_distance_deg, equatorial_to_icecube  # noqa: E402
from icecore.scan import ScanSettings, make_problem, run_problem  # noqa: E402
from icecore.scan import calibration as cal  # noqa: E402
from icecore.scan import contours as _c  # noqa: E402

#: Global conventions drawn on the same maps, for comparison.
GLOBAL = ("icecube-calibrated", "wilks")
RECORDS = {2030: "per_event_coverage_validation_seed2030.jsonl", 2027: "per_event_coverage.jsonl"}


def one(job: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    seed, rec = job
    ev, _ = pec._event(seed, rec["i"], rec["energy_tev"])
    zt, at = equatorial_to_icecube(rec["ra_deg"], rec["dec_deg"], ev.mjd)
    w0, c0 = time.perf_counter(), cpu_s()
    cheap = cal.two_dllh_at_truth(ev, float(zt), float(at), model=pec.MODEL, truth_vertex=ev.meta["truth"]["vertex"])
    c1 = cpu_s()
    res = run_problem(make_problem(ev), ScanSettings(), threads=1, progress=False)
    scan_cpu = cpu_s() - c1
    stat = float(_c.values_at(res.statistic_surface("2dllh"), rec["ra_deg"], rec["dec_deg"])[0])
    stat_bilinear = float(_c.values_at(res.statistic_map("2dllh"), rec["ra_deg"], rec["dec_deg"])[0])
    ra, dec = res.radec()
    d = angular_distance_deg(ra, dec, rec["ra_deg"], rec["dec_deg"])
    best = float(res.best_fit["neg_llh"])
    near: dict[int, tuple[float, float]] = {}
    for ns in res.nsides:
        sel = np.flatnonzero(res.nside == ns)
        j = sel[np.argmin(d[sel])]
        near[int(ns)] = (float(d[j]), 2.0 * (float(res.neg_llh[j]) - best))
    fine = max([ns for ns in near if near[ns][0] < REACH_DEG.get(ns, 0.0)] or [min(near)])
    # a per-event level can be 0 (its order statistic was 0: the resimulations' truths were their own
    # minima); such a contour is empty on the map (area 0) and holds the truth only where 2ΔlnL is 0
    positive = {lab: v for lab, v in rec["levels"].items() if v > 0}
    areas = ({k: float(v) for k, v in res.areas_deg2(_c.CriticalValues("per-event", positive, "2dllh")).items()}
             if positive else {})
    areas.update({lab: 0.0 for lab in rec["levels"] if lab not in positive})
    values = {"map": stat, "map_bilinear": stat_bilinear, "nearest": near[fine][1], "cheap": float(cheap["two_dllh"])}
    return {"i": rec["i"], "energy_tev": rec["energy_tev"], "dec_deg": rec["dec_deg"],
            "n_hit_doms": rec.get("n_hit_doms"), "levels": rec["levels"], "raw_levels": rec.get("raw_levels"),
            "values": values,
            "inside": {k: {lab: bool(v <= rec["levels"][lab]) for lab in ("50", "90")} for k, v in values.items()},
            "finest_nside_at_truth": fine, "nearest_dist_deg": round(near[fine][0], 4),
            "best_offset_deg": float(angular_distance_deg(res.best_fit["ra_deg"], res.best_fit["dec_deg"],
                                                          rec["ra_deg"], rec["dec_deg"])),
            "areas_per_event_deg2": areas,
            "global": {name: {"areas_deg2": {k: float(v) for k, v in res.areas_deg2(name).items()},
                              "inside": {lab: bool(x) for lab, x in
                                         ((lab, res.contains(rec["ra_deg"], rec["dec_deg"], lab, name)[0])
                                          for lab in ("50", "90"))}}
                       for name in GLOBAL},
            "evaluations": int(res.info["likelihood_evaluations"]), "scan_cpu_s": round(scan_cpu, 2),
            "cheap_cpu_s": round(c1 - c0, 2), "wall_s": round(time.perf_counter() - w0, 1)}


def _binom(k: int, n: int) -> tuple[float, float]:
    p = k / n if n else float("nan")
    return 100.0 * p, 100.0 * float(np.sqrt(max(p * (1 - p), 0.0) / n)) if n else float("nan")


def _lost(rows: list[dict[str, Any]], lab: str) -> int:
    """Events whose truth the cheap statistic holds and the drawn map does not."""
    return sum(r["inside"]["cheap"][lab] and not r["inside"]["map"][lab] for r in rows)


def _global(rows: list[dict[str, Any]], name: str, lab: str) -> dict[str, float]:
    """Coverage and median area of a global convention drawn on the same maps."""
    p, e = _binom(sum(r["global"][name]["inside"][lab] for r in rows), len(rows))
    return {"coverage_percent": round(p, 1), "error_percent": round(e, 1),
            "median_area_deg2": float(np.median([r["global"][name]["areas_deg2"][lab] for r in rows]))}


def map_tuning(rows: list[dict[str, Any]], *, n_boot: int = 2000) -> dict[str, dict[str, float]]:
    """The level factors that make the contours as drawn cover on these maps: per level q, the
    q-quantile over events of (map's 2ΔlnL at the truth) / (plain order statistic), with its
    bootstrap error (what ``calibration.TUNED_LEVEL_FACTORS`` at 90 % was tuned on, ``--seed 2027``)."""
    out = {}
    rng = np.random.default_rng(0)
    for lab in ("50", "90"):
        raw = np.array([r["raw_levels"][lab] for r in rows], float)
        val = np.array([r["values"]["map"] for r in rows], float)
        ratio = np.where(raw > 0, val / np.where(raw > 0, raw, 1.0), np.where(val <= 0, 0.0, np.inf))
        q = int(lab) / 100.0
        boot = [np.quantile(rng.choice(ratio, ratio.size), q) for _ in range(n_boot)]
        out[lab] = {"factor": float(np.quantile(ratio, q)), "error": float(np.std(boot))}
    return out


def summarise(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r["i"])
    n = len(rows)
    cov = {}
    for key in ("map", "map_bilinear", "nearest", "cheap"):
        cov[key] = {}
        for lab in ("50", "90"):
            k = sum(r["inside"][key][lab] for r in rows)
            p, e = _binom(k, n)
            cov[key][lab] = {"inside": k, "percent": round(p, 1), "error_percent": round(e, 1)}
    m = np.array([r["values"]["map"] for r in rows])
    c = np.array([r["values"]["cheap"] for r in rows])
    near = np.array([r["values"]["nearest"] for r in rows])
    far = [r for r in rows if r["best_offset_deg"] > 1.0]
    return {"what": f"SIMULATION: default scan maps (8/64/512, fast, polishing on) of events of the per-event "
                    f"coverage study --seed {seed}; per-event levels from that study; 'map' is the drawn surface "
                    f"(local quadratics), 'map_bilinear' the bilinear interpolation of the same map",
            "lost_vs_cheap": {lab: {"events": _lost(rows, lab), "best_fit_over_1deg_from_truth": _lost(far, lab)}
                              for lab in ("50", "90")},
            "n_maps": n, "coverage": cov,
            "level_factors_used": {lab: float(np.median([r["levels"][lab] / r["raw_levels"][lab] for r in rows
                                                          if r["raw_levels"][lab] > 0])) for lab in ("50", "90")},
            "map_tuning": map_tuning(rows),
            "median_map_minus_cheap": float(np.median(m - c)),
            "median_abs_map_minus_nearest": float(np.median(np.abs(m - near))),
            "global": {name: {lab: _global(rows, name, lab) for lab in ("50", "90")} for name in GLOBAL},
            "median_area_per_event_deg2": {lab: float(np.median([r["areas_per_event_deg2"][lab] for r in rows]))
                                           for lab in ("50", "90")},
            "median_scan_cpu_s": float(np.median([r["scan_cpu_s"] for r in rows])),
            "median_evaluations": float(np.median([r["evaluations"] for r in rows]))}


def plot(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    """Left: map vs cheap statistic at the truth; middle: coverage of the contours as drawn (per-event
    with both interpolations, the cheap statistic, the global conventions); right: their 90 % areas."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(15, 4.4), gridspec_kw={"width_ratios": [1, 1.3, 1]})
    c = np.array([r["values"]["cheap"] for r in rows])
    m = np.array([r["values"]["map"] for r in rows])
    a0.loglog(np.maximum(c, 1e-2), np.maximum(m, 1e-2), ".", ms=4)
    lim = [1e-2, max(c.max(), m.max(), 1.0) * 1.5]
    a0.plot(lim, lim, "k-", lw=0.8)
    a0.set_xlabel("cheap 2ΔlnL at the truth (values ≤ 0.01 at 0.01)")
    a0.set_ylabel("scan map's 2ΔlnL at the truth (as drawn)")
    a0.set_title(f"SIMULATION, {len(rows)} maps")
    cov = summary["coverage"]
    glob = summary["global"]
    labels = ["per-event\n(drawn)", "per-event\n(bilinear)", "per-event\n(cheap stat.)", "icecube-\ncalibrated",
              "wilks"]
    x = np.arange(len(labels))
    for off, lab, target in ((-0.18, "50", 50), (0.18, "90", 90)):
        vals = [cov[k][lab]["percent"] for k in ("map", "map_bilinear", "cheap")]
        vals += [glob[g][lab]["coverage_percent"] for g in GLOBAL]
        errs = [cov[k][lab]["error_percent"] for k in ("map", "map_bilinear", "cheap")]
        errs += [glob[g][lab]["error_percent"] for g in GLOBAL]
        a1.bar(x + off, vals, 0.34, yerr=errs, label=f"{lab} % contour", capsize=3)
        a1.axhline(target, color="grey", lw=0.8, ls="--")
    a1.set_xticks(x, labels)
    a1.set_ylabel("contour on the map holds the truth (%)")
    a1.set_ylim(0, 118)
    a1.legend(loc="upper center", ncol=2, fontsize=9)
    names = ["per-event", *GLOBAL]
    for lab, mk in (("50", "o"), ("90", "s")):
        areas = [[r["areas_per_event_deg2"][lab] for r in rows]] + [[r["global"][g]["areas_deg2"][lab] for r in rows]
                                                                     for g in GLOBAL]
        med = [float(np.median(a)) for a in areas]
        a2.semilogy(np.arange(len(names)), med, mk, ms=8, label=f"median {lab} % area")
    a2.set_xticks(np.arange(len(names)), names)
    a2.set_xlim(-0.5, len(names) - 0.5)
    a2.set_ylabel("median contour area (deg²)")
    a2.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2030, choices=sorted(RECORDS))
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--offset", type=int, default=0, help="start at this event of the study (0: the first)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--summarise", action="store_true")
    ap.add_argument("--tag", default="", help="suffix of the output files")
    args = ap.parse_args()
    out = HERE / "results" / f"scan_maps_coverage_seed{args.seed}{args.tag}"
    recs: dict[int, dict[str, Any]] = {}
    for line in (HERE / "results" / RECORDS[args.seed]).read_text().splitlines():
        if line.strip():
            r = pec.normalise(json.loads(line))
            if r.get("levels") and r.get("n_failed", 0) == 0:
                recs[r["i"]] = r
    todo_all = [recs[i] for i in sorted(recs)][args.offset::args.every][:args.limit]
    jl = out.with_suffix(".jsonl")
    done = {json.loads(x)["i"] for x in jl.read_text().splitlines() if x.strip()} if jl.exists() else set()
    todo = [r for r in todo_all if r["i"] not in done]
    if not args.summarise and todo:
        with Pool(args.processes) as pool, jl.open("a") as fh:
            for k, row in enumerate(pool.imap(one, [(args.seed, r) for r in todo]), 1):
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"[{k}/{len(todo)}] event {row['i']}: map {row['values']['map']:.2f} cheap "
                      f"{row['values']['cheap']:.2f} levels {row['levels']['50']:.2f}/{row['levels']['90']:.2f} "
                      f"scan {row['scan_cpu_s']} CPU s", flush=True)
    rows = [json.loads(x) for x in jl.read_text().splitlines() if x.strip()]
    s = summarise(rows, args.seed)
    out.with_suffix(".json").write_text(json.dumps(s, indent=1) + "\n")
    plot(rows, s, out.with_suffix(".png"))
    print(json.dumps(s["coverage"]))


if __name__ == "__main__":
    main()
