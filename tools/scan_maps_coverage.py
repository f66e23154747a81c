"""Do the scan maps' own per-event contours hold the truth? (issue #13 item 1; SIMULATION ONLY).

Events of a ``tools/per_event_coverage.py`` study (default the validation sample ``--seed 2030``,
records with per-event levels in ``tools/results/per_event_coverage_validation_seed2030.jsonl``) are
re-simulated from their seeds (photon simulator, mismatch ON) and fully scanned with the default
scan (8/64/512, likelihood fast, polishing on, 1 thread per process). For each map: the map's
2ΔlnL at the truth as ``ScanResult.contains`` decides membership (the bilinearly interpolated
statistic map), the value of the nearest pixel of the finest level reaching the truth, the cheap
statistic of the coverage study (a fit at the truth from the true track against the cheap
minimum), the event's per-event 50 %/90 % levels, the inside flags of all three, the per-event
areas and the CPU time. Events are taken in their order in the study (i.i.d. draws, so a partial
run is an unbiased subsample), every ``--every``-th.

Usage::

    nice -n 10 python tools/scan_maps_coverage.py [--seed 2030] [--every 2] [--limit N] [--processes 2]
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
    smap = res.statistic_map("2dllh")
    stat = float(_c.values_at(smap, rec["ra_deg"], rec["dec_deg"])[0])
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
    values = {"map": stat, "nearest": near[fine][1], "cheap": float(cheap["two_dllh"])}
    return {"i": rec["i"], "energy_tev": rec["energy_tev"], "dec_deg": rec["dec_deg"],
            "n_hit_doms": rec.get("n_hit_doms"), "levels": rec["levels"], "values": values,
            "inside": {k: {lab: bool(v <= rec["levels"][lab]) for lab in ("50", "90")} for k, v in values.items()},
            "finest_nside_at_truth": fine, "nearest_dist_deg": round(near[fine][0], 4),
            "best_offset_deg": float(angular_distance_deg(res.best_fit["ra_deg"], res.best_fit["dec_deg"],
                                                          rec["ra_deg"], rec["dec_deg"])),
            "areas_per_event_deg2": areas,
            "evaluations": int(res.info["likelihood_evaluations"]), "scan_cpu_s": round(scan_cpu, 2),
            "cheap_cpu_s": round(c1 - c0, 2), "wall_s": round(time.perf_counter() - w0, 1)}


def _binom(k: int, n: int) -> tuple[float, float]:
    p = k / n if n else float("nan")
    return 100.0 * p, 100.0 * float(np.sqrt(max(p * (1 - p), 0.0) / n)) if n else float("nan")


def summarise(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r["i"])
    n = len(rows)
    cov = {}
    for key in ("map", "nearest", "cheap"):
        cov[key] = {}
        for lab in ("50", "90"):
            k = sum(r["inside"][key][lab] for r in rows)
            p, e = _binom(k, n)
            cov[key][lab] = {"inside": k, "percent": round(p, 1), "error_percent": round(e, 1)}
    m = np.array([r["values"]["map"] for r in rows])
    c = np.array([r["values"]["cheap"] for r in rows])
    near = np.array([r["values"]["nearest"] for r in rows])
    return {"what": f"SIMULATION: default scan maps (8/64/512, fast, polishing on) of events of the per-event "
                    f"coverage study --seed {seed}; per-event levels from that study",
            "n_maps": n, "coverage": cov,
            "median_map_minus_cheap": float(np.median(m - c)),
            "median_abs_map_minus_nearest": float(np.median(np.abs(m - near))),
            "median_area_per_event_deg2": {lab: float(np.median([r["areas_per_event_deg2"][lab] for r in rows]))
                                           for lab in ("50", "90")},
            "median_scan_cpu_s": float(np.median([r["scan_cpu_s"] for r in rows])),
            "median_evaluations": float(np.median([r["evaluations"] for r in rows]))}


def plot(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4.2))
    c = np.array([r["values"]["cheap"] for r in rows])
    m = np.array([r["values"]["map"] for r in rows])
    a0.loglog(np.maximum(c, 1e-2), np.maximum(m, 1e-2), ".", ms=4)
    lim = [1e-2, max(c.max(), m.max(), 1.0) * 1.5]
    a0.plot(lim, lim, "k-", lw=0.8)
    a0.set_xlabel("cheap 2ΔlnL at the truth")
    a0.set_ylabel("scan map's 2ΔlnL at the truth (interpolated)")
    a0.set_title(f"SIMULATION, {len(rows)} maps")
    cov = summary["coverage"]
    x = np.arange(3)
    for off, lab, target in ((-0.18, "50", 50), (0.18, "90", 90)):
        vals = [cov[k][lab]["percent"] for k in ("map", "nearest", "cheap")]
        errs = [cov[k][lab]["error_percent"] for k in ("map", "nearest", "cheap")]
        a1.bar(x + off, vals, 0.34, yerr=errs, label=f"{lab} % contour", capsize=3)
        a1.axhline(target, color="grey", lw=0.8, ls="--")
    a1.set_xticks(x, ["map (as drawn)", "nearest pixel", "cheap statistic"])
    a1.set_ylabel("per-event contour holds the truth (%)")
    a1.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2030, choices=sorted(RECORDS))
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--summarise", action="store_true")
    args = ap.parse_args()
    out = HERE / "results" / f"scan_maps_coverage_seed{args.seed}"
    recs: dict[int, dict[str, Any]] = {}
    for line in (HERE / "results" / RECORDS[args.seed]).read_text().splitlines():
        if line.strip():
            r = pec.normalise(json.loads(line))
            if r.get("levels") and r.get("n_failed", 0) == 0:
                recs[r["i"]] = r
    todo_all = [recs[i] for i in sorted(recs)][::args.every][:args.limit]
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
