"""A fitter-option variant of the fast scan against a committed fast-vs-exact table (issue #12).

Rescans the events of ``tools/results/scan_fast_vs_exact_polish.json`` (same seeds and energies)
with ``likelihood="fast"`` and the given ``fitter_options`` (JSON), and compares each event with
the table's exact scan: best pixel, the four areas (Wilks, IceCube-calibrated), truth-inside flags,
evaluations. Usage::

    python tools/scan_seed_variant.py '{"level_seeds": {"8": [0, 0]}}' --tag seeds8_0

Writes tools/results/scan_seed_variant_<tag>.json. SIMULATION.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tools_scan_common import OUT, one_scan  # noqa: E402  (tools/ on sys.path when run as a script)

from icecore.scan import ScanSettings
from icecore.scan.events import simulate_event, true_direction

KEYS = [f"area_{c}_{lev}" for c in ("wilks", "icecube-calibrated") for lev in ("50", "90")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fitter_options", help="JSON object of fitter options, e.g. '{\"level_seeds\": {\"8\": [0, 0]}}'")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--reference", default=str(OUT / "scan_fast_vs_exact_polish.json"))
    args = ap.parse_args()
    opts = json.loads(args.fitter_options)
    ref = json.loads(Path(args.reference).read_text())
    settings = ScanSettings()
    rows = []
    for r in ref["events"]:
        ev = simulate_event(seed=r["seed"], energy_tev=r["energy_tev"], mjd=60000.0)
        new = one_scan(ev, {"likelihood": "fast", **opts}, settings, true_direction(ev))
        ex, old = r["exact"], r["fast"]
        rel = {k: (new[k] - ex[k]) / ex[k] if ex[k] else 0.0 for k in KEYS}
        rows.append({"seed": r["seed"], "variant": new, "same_best_as_exact": new["best"] == ex["best"],
                     "same_best_as_fast": new["best"] == old["best"], "rel_area_vs_exact": rel,
                     "evaluations_fast_reference": old["evaluations"]})
        print(r["seed"], rows[-1]["same_best_as_exact"], rows[-1]["same_best_as_fast"],
              {k: round(v, 4) for k, v in rel.items()}, new["evaluations"], old["evaluations"], flush=True)
    summary = {
        "events": len(rows),
        "same_best_as_exact": sum(x["same_best_as_exact"] for x in rows),
        "same_best_as_reference_fast": sum(x["same_best_as_fast"] for x in rows),
        "within_2pct_all_areas_vs_exact": sum(all(abs(v) <= 0.02 for v in x["rel_area_vs_exact"].values())
                                              for x in rows),
        "evaluations_variant": sum(x["variant"]["evaluations"] for x in rows),
        "evaluations_reference_fast": sum(x["evaluations_fast_reference"] for x in rows),
        "median_abs_rel_area_vs_exact": {k: float(np.median([abs(x["rel_area_vs_exact"][k]) for x in rows]))
                                         for k in KEYS},
    }
    print(json.dumps(summary, indent=1))
    doc = {"fitter_options": opts, "reference": Path(args.reference).name, "note": "SIMULATION", "summary": summary,
           "events": rows}
    (OUT / f"scan_seed_variant_{args.tag}.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
