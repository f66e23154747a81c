"""Why the scan maps' 2ΔlnL at the truth exceeds the cheap statistic (issue #13 item 1). SIMULATION.

For the 20 scan-map events of ``tools/scan_polish_maps.py`` (``--seed 2027``), one default scan
each (2 threads), and at the truth: the map's interpolated 2ΔlnL (``contours.values_at``, what
the maps' contours use), the finest level whose pixel centres reach the truth and the nearest
such pixel's own 2ΔlnL, and a vertex fit at the true direction seeded with that pixel's vertex
(2ΔlnL against the scan's best), next to the cheap statistic. Usage::

    nice -n 10 python tools/scan_map_truth_diagnose.py

Writes tools/results/scan_map_truth_diagnose.json.
"""
import json
import sys

import numpy as np

sys.path.insert(0, "tools")
sys.path.insert(0, "python")
import per_event_coverage as pec  # noqa: E402
from tools_scan_common import REACH_DEG  # noqa: E402

from icecore.coords import angular_distance_deg, equatorial_to_icecube  # noqa: E402
from icecore.scan import ScanSettings, make_problem, run_problem  # noqa: E402
from icecore.scan import contours as _c  # noqa: E402

RESULTS = "tools/results/"


def main() -> None:
    maps = {json.loads(x)["i"]: json.loads(x) for x in open(RESULTS + "scan_polish_maps.jsonl") if x.strip()}
    recs = [pec.normalise(json.loads(x)) for x in open(RESULTS + "per_event_coverage.jsonl")
            if x.strip() and "areas_deg2" in x]
    rows = []
    for r in recs:
        if r["i"] not in maps:
            continue
        ev, _ = pec._event(2027, r["i"], r["energy_tev"])
        prob = make_problem(ev)
        res = run_problem(prob, ScanSettings(), threads=2, progress=False)
        ra, dec = res.radec()
        d = angular_distance_deg(ra, dec, r["ra_deg"], r["dec_deg"])
        best = res.best_fit["neg_llh"]
        out = {}
        for ns in res.nsides:
            sel = np.flatnonzero(res.nside == ns)
            j = sel[np.argmin(d[sel])]
            out[ns] = (round(float(d[j]), 3), round(2 * (res.neg_llh[j] - best), 2), j)
        ns_fine = max(ns for ns in out if out[ns][0] < REACH_DEG[ns])
        j = out[ns_fine][2]
        zt, at = equatorial_to_icecube(r["ra_deg"], r["dec_deg"], ev.mjd)
        fr = prob.fitter.fit_batch(np.radians([zt]), np.radians([at]), res.vertex[j:j + 1].copy(), 1)
        m = float(_c.values_at(res.statistic_map("2dllh"), r["ra_deg"], r["dec_deg"])[0])
        row = {"i": r["i"], "cheap": maps[r["i"]]["cheap"]["two_dllh"], "map_interpolated": m,
               "finest_nside": ns_fine, "nearest_pixel_two_dllh": out[ns_fine][1],
               "nearest_pixel_dist_deg": out[ns_fine][0],
               "fit_at_truth_two_dllh": 2 * (float(fr["neg_llh"][0]) - best), "levels": r["levels"],
               "best_neg_llh": float(best)}
        rows.append(row)
        print(row, flush=True)
    summary = {
        "events": len(rows),
        "median_map_minus_cheap": float(np.median([x["map_interpolated"] - x["cheap"] for x in rows])),
        "median_fit_at_truth_minus_cheap": float(np.median([x["fit_at_truth_two_dllh"] - x["cheap"] for x in rows])),
        "median_abs_map_minus_nearest_pixel": float(np.median(
            [abs(x["map_interpolated"] - x["nearest_pixel_two_dllh"]) for x in rows])),
        "events_truth_fit_below_scan_best": int(sum(x["fit_at_truth_two_dllh"] < 0 for x in rows)),
        "events_truth_not_refined": int(sum(x["finest_nside"] < 512 for x in rows))}
    print(json.dumps(summary, indent=1))
    with open(RESULTS + "scan_map_truth_diagnose.json", "w") as fh:
        doc = {"note": "SIMULATION", "summary": summary, "events": sorted(rows, key=lambda x: x["i"])}
        json.dump(doc, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
