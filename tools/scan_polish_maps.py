"""The scan maps' 2ΔlnL at the truth against the cheap statistic, polishing off and on (issue #13 item 1).

SIMULATION ONLY: the 20 events of ``tools/per_event_coverage.py --seed 2027`` that were also
fully scanned (every 25th; records with ``areas_deg2`` in ``tools/results/per_event_coverage.jsonl``),
re-simulated from their seeds (photon simulator, mismatch ON). Each is scanned twice with the
default scan (8/64/512, likelihood fast, 1 thread): ``ScanSettings(polish=False)`` and the default
``ScanSettings()`` (polishing on). For each scan: the map's 2ΔlnL at the truth (the interpolated
statistic map, as ``per_event_coverage.py`` does), the best pixel and its −lnL, evaluations,
polishing counts, and whether the event's per-event 50 %/90 % levels (from the stored record,
recomputed with the library's factors) hold the truth on the map. The cheap statistic
(``stat_truth`` of the record: ``two_dllh_at_truth`` started from the true track) is recomputed
too, with its −lnL at the truth and its minimum, so that the map's values can be compared to it.

Usage::

    nice -n 10 python tools/scan_polish_maps.py [--processes 1]

Per-event records go to ``tools/results/scan_polish_maps.jsonl`` (restartable); the summary to
``tools/results/scan_polish_maps.json``.
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

from icecore.coords import equatorial_to_icecube  # noqa: E402
from icecore.scan import ScanSettings  # noqa: E402
from icecore.scan import calibration as cal  # noqa: E402
from icecore.scan import contours as _c  # noqa: E402

SEED = 2027
OUT = HERE / "results" / "scan_polish_maps"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _scan(ev: Any, rec: dict[str, Any], polish: bool) -> dict[str, Any]:
    from icecore.scan import make_problem, run_problem

    c0 = _cpu()
    res = run_problem(make_problem(ev), ScanSettings(polish=polish), threads=1, progress=False)
    cpu = _cpu() - c0
    smap = res.statistic_map("2dllh")
    stat = float(_c.values_at(smap, rec["ra_deg"], rec["dec_deg"])[0])
    per_event = _c.CriticalValues("per-event", rec["levels"], "2dllh")
    info = res.info
    return {"map_stat_truth": stat, "best_neg_llh": float(res.best_fit["neg_llh"]),
            "best": [int(res.best_fit["nside"]), int(res.best_fit["pixel"])],
            "best_ra_deg": float(res.best_fit["ra_deg"]), "best_dec_deg": float(res.best_fit["dec_deg"]),
            "inside": {lab: bool(stat <= rec["levels"][lab]) for lab in ("50", "90")},
            "areas_per_event_deg2": {k: float(v) for k, v in res.areas_deg2(per_event).items()},
            "evaluations": int(info["likelihood_evaluations"]), "fits": int(info["fits"]),
            "polish_evaluations": int(info.get("polish_evaluations", 0)),
            "polish_fits_per_level": info.get("polish_fits_per_level"),
            "polish_improved_per_level": info.get("polish_improved_per_level"),
            "cpu_s": round(cpu, 2)}


def one(rec: dict[str, Any]) -> dict[str, Any]:
    rec = pec.normalise(dict(rec))
    ev, _ = pec._event(SEED, rec["i"], rec["energy_tev"])
    zt, at = equatorial_to_icecube(rec["ra_deg"], rec["dec_deg"], ev.mjd)
    w0 = time.perf_counter()
    cheap = cal.two_dllh_at_truth(ev, float(zt), float(at), model=pec.MODEL, truth_vertex=ev.meta["truth"]["vertex"])
    out = {"i": rec["i"], "energy_tev": rec["energy_tev"], "levels": rec["levels"],
           "stat_truth_record": rec["stat_truth"], "map_stat_truth_record": rec["map_stat_truth"],
           "cheap": {"two_dllh": float(cheap["two_dllh"]), "neg_llh_truth": float(cheap["neg_llh_truth"]),
                     "neg_llh_min": float(cheap["neg_llh_min"])},
           "off": _scan(ev, rec, False), "on": _scan(ev, rec, True)}
    out["wall_s"] = round(time.perf_counter() - w0, 1)
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r["i"])
    cheap = np.array([r["cheap"]["two_dllh"] for r in rows])
    s: dict[str, Any] = {"what": "SIMULATION: scan maps of 20 per-event-coverage events (--seed 2027, every 25th), "
                                 "map 2dLLH at the truth vs the cheap statistic, polishing off / on",
                         "n_events": len(rows)}
    for key in ("off", "on"):
        ms = np.array([r[key]["map_stat_truth"] for r in rows])
        ratio = ms / np.maximum(cheap, 1e-9)
        s[key] = {
            "median_map_over_cheap": float(np.median(ratio)),
            "events_map_over_cheap_gt_2": int(np.sum((ratio > 2) & (ms - cheap > 1))),
            "events_map_minus_cheap_gt_1": int(np.sum(ms - cheap > 1)),
            "map_inside_per_event": {lab: int(sum(r[key]["inside"][lab] for r in rows)) for lab in ("50", "90")},
            "cheap_inside_per_event": {lab: int(sum(c <= r["levels"][lab] for c, r in zip(cheap, rows)))
                                       for lab in ("50", "90")},
            "best_neg_llh_minus_cheap_min_median": float(np.median(
                [r[key]["best_neg_llh"] - r["cheap"]["neg_llh_min"] for r in rows])),
            "evaluations": int(sum(r[key]["evaluations"] for r in rows)),
            "polish_evaluations": int(sum(r[key]["polish_evaluations"] for r in rows)),
            "median_area_per_event_deg2": {lab: float(np.median([r[key]["areas_per_event_deg2"][lab] for r in rows]))
                                           for lab in ("50", "90")},
        }
    s["events"] = [{"i": r["i"], "energy_tev": round(r["energy_tev"], 1), "cheap": round(r["cheap"]["two_dllh"], 3),
                    "map_off": round(r["off"]["map_stat_truth"], 3), "map_on": round(r["on"]["map_stat_truth"], 3),
                    "best_neg_llh_on_minus_off": round(r["on"]["best_neg_llh"] - r["off"]["best_neg_llh"], 4),
                    "levels": {k: round(v, 2) for k, v in r["levels"].items()}} for r in rows]
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--summarise", action="store_true")
    args = ap.parse_args()
    recs = [json.loads(line) for line in (HERE / "results" / "per_event_coverage.jsonl").read_text().splitlines()
            if line.strip()]
    recs = [r for r in recs if "areas_deg2" in r]
    jl = OUT.with_suffix(".jsonl")
    done = {json.loads(x)["i"] for x in jl.read_text().splitlines() if x.strip()} if jl.exists() else set()
    todo = [r for r in recs if r["i"] not in done]
    if not args.summarise and todo:
        with Pool(args.processes) as pool, jl.open("a") as fh:
            for row in pool.imap_unordered(one, todo):
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(row["i"], row["cheap"]["two_dllh"], row["off"]["map_stat_truth"], row["on"]["map_stat_truth"],
                      row["wall_s"], flush=True)
    rows = [json.loads(x) for x in jl.read_text().splitlines() if x.strip()]
    OUT.with_suffix(".json").write_text(json.dumps(summarise(rows), indent=1) + "\n")


if __name__ == "__main__":
    main()
