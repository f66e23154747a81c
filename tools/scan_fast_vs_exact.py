"""Fast vs exact photon likelihood on simulated track events (issue #12): the same scan with
``likelihood="exact"`` (closed form, the reference) and ``likelihood="fast"`` (tables), compared per
event: best-fit pixel and its offset to the truth, 50 %/90 % areas (Wilks and IceCube-calibrated),
truth inside each contour, fit failures per level, CPU seconds and likelihood evaluations.

Events: ``simulate_event(seed=1000 + k)`` with isotropic directions and energies log-uniform in
[30, 1000] TeV (a spread in energy and declination). Usage (long: exact scans; run with nice)::

    nice -n 10 python tools/scan_fast_vs_exact.py [--events 20] [--nsides 8,64,512] [--extensions 12,24]
        [--no-polish] [--tag NAME]

Writes tools/results/scan_fast_vs_exact[_NAME].json and .md. The scans use the default
``ScanSettings`` (polishing on) unless ``--no-polish``; the session-4 table (before polishing
existed) is the untagged file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tools_scan_common import CONVENTIONS, OUT, one_scan  # noqa: E402  (tools/ on sys.path)

from icecore.scan import ScanSettings, make_problem
from icecore.scan.events import simulate_event, true_direction


def _one(ev, kind: str, settings: ScanSettings, truth) -> dict:
    return one_scan(ev, {"likelihood": kind}, settings, truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--nsides", default="8,64,512")
    ap.add_argument("--extensions", default="12,24")
    ap.add_argument("--start", type=int, default=0, help="first event index (to split a run over processes)")
    ap.add_argument("--merge", nargs="*", help="merge these partial JSON files into the result instead")
    ap.add_argument("--no-polish", action="store_true", help="scan without the polishing pass")
    ap.add_argument("--tag", default="", help="output file suffix (e.g. 'polish')")
    args = ap.parse_args()
    settings = ScanSettings(nsides=tuple(int(x) for x in args.nsides.split(",")),
                            extensions=tuple(float(x) for x in args.extensions.split(",")),
                            polish=not args.no_polish)
    tag = f"_{args.tag}" if args.tag else ""
    if args.merge:
        rows = list({r["seed"]: r for f in args.merge for r in json.loads(Path(f).read_text())["events"]}.values())
        _write(sorted(rows, key=lambda r: r["seed"]), settings, tag)
        return
    rng = np.random.default_rng(2024)
    energies = np.exp(rng.uniform(np.log(30.0), np.log(1000.0), args.start + args.events))
    rows = []
    suffix = tag + (f"_from{args.start}" if args.start else "")
    for k in range(args.start, args.start + args.events):
        energy = float(energies[k])
        ev = simulate_event(seed=1000 + k, energy_tev=energy, mjd=60000.0)
        truth = true_direction(ev)
        row = {"seed": 1000 + k, "energy_tev": round(energy, 2), "dec_deg": round(float(truth[1]), 3),
               "n_doms": int(make_problem(ev).fitter.n_doms)}
        for kind in ("exact", "fast"):
            row[kind] = _one(ev, kind, settings, truth)
        rows.append(row)
        print(k, row["energy_tev"], row["dec_deg"], row["exact"]["best"] == row["fast"]["best"],
              row["exact"]["cpu_s"], row["fast"]["cpu_s"], flush=True)
        _write(rows, settings, suffix)


def _rel(a: float, b: float) -> float:
    """(b - a) / a; 0 when both are 0, 1e9 (stands for infinite) when only a is 0."""
    if a > 0:
        return (b - a) / a
    return 0.0 if b == a else 1e9


def _write(rows: list[dict], settings: ScanSettings, suffix: str = "") -> None:
    keys = [f"area_{c}_{lev}" for c in CONVENTIONS for lev in ("50", "90")]
    summary = {
        "events": len(rows),
        "same_best_pixel": sum(r["exact"]["best"] == r["fast"]["best"] for r in rows),
        "max_abs_rel_area_diff": {k: max(abs(_rel(r["exact"][k], r["fast"][k])) for r in rows) for k in keys},
        "median_abs_rel_area_diff": {k: float(np.median([abs(_rel(r["exact"][k], r["fast"][k])) for r in rows]))
                                     for k in keys},
        "events_within_2pct_all_areas": sum(all(abs(_rel(r["exact"][k], r["fast"][k])) <= 0.02 for k in keys)
                                            for r in rows),
        "same_truth_inside_flags": sum(all(r["exact"][k] == r["fast"][k] for k in r["exact"] if k.startswith("inside"))
                                       for r in rows),
        "cpu_s_exact": round(sum(r["exact"]["cpu_s"] for r in rows), 2),
        "cpu_s_fast": round(sum(r["fast"]["cpu_s"] for r in rows), 2),
        "evaluations_exact": sum(r["exact"]["evaluations"] for r in rows),
        "evaluations_fast": sum(r["fast"]["evaluations"] for r in rows),
        "polish_evaluations_exact": sum(r["exact"].get("polish_evaluations", 0) for r in rows),
        "polish_evaluations_fast": sum(r["fast"].get("polish_evaluations", 0) for r in rows),
        "max_failed_fraction_per_level": max(
            r[kind]["failed_per_nside"][ns] / max(r[kind]["fits_per_nside"][ns], 1)
            for r in rows for kind in ("exact", "fast") for ns in r[kind]["failed_per_nside"]),
    }
    doc = {"settings": {"nsides": list(settings.nsides), "extensions": list(settings.extensions), "threads": 2,
                        "polish": settings.polish, "polish_threshold": settings.polish_threshold,
                        "polish_window": settings.polish_window, "max_polish_rounds": settings.max_polish_rounds,
                        "fitter_options": "DEFAULT_FITTER_OPTIONS (likelihood exact vs fast)"},
           "note": "simulated events (icecore.likelihood.simulate_track); CPU seconds on a shared, loaded machine",
           "summary": summary, "events": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / f"scan_fast_vs_exact{suffix}.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [f"Fast vs exact likelihood, {len(rows)} simulated events, scan {'/'.join(map(str, settings.nsides))} "
             f"(extensions {'/'.join(str(e) for e in settings.extensions)}), 2 threads, "
             f"polishing {'on' if settings.polish else 'off'}. Areas in deg²; "
             "W = Wilks, C = IceCube-calibrated; 'in' = truth inside 50/90 % (W, C).", "",
             "| seed | E (TeV) | dec | same best | offset exact / fast (deg) | W50 ex / fa | W90 ex / fa | "
             "C50 ex / fa | C90 ex / fa | in ex | in fa | failed ex / fa | CPU ex / fa (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, f = r["exact"], r["fast"]

        def flags(x: dict) -> str:
            return "".join("y" if x[f"inside_{c}_{lev}"] else "n" for c in CONVENTIONS for lev in ("50", "90"))

        same = "yes" if e["best"] == f["best"] else "NO"
        lines.append(
            f"| {r['seed']} | {r['energy_tev']:.0f} | {r['dec_deg']:+.1f} | {same} | "
            f"{e['offset_deg']:.3f} / {f['offset_deg']:.3f} | "
            + " | ".join(f"{e[k]:.3g} / {f[k]:.3g}" for k in keys)
            + f" | {flags(e)} | {flags(f)} | {sum(e['failed_per_nside'].values())} / "
            f"{sum(f['failed_per_nside'].values())} | {e['cpu_s']:.1f} / {f['cpu_s']:.1f} |")
    lines += ["", "Summary: " + json.dumps(summary)]
    (OUT / f"scan_fast_vs_exact{suffix}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
