"""Pull study of the radio arm orientation: many simulated seeds -> pulls of each arm.

For each seed a ``--days``-day sample of one antenna is simulated (random arm orientation drawn
from the seed unless ``--arm`` is given), processed (cleaning, filtering, RMS) and oriented with
the default automatic cut. The noise table of each seed is cached in ``--cache`` so that the fit
can be repeated with other settings (``--refit``) without simulating again.

Printed per arm: the mean and standard deviation of the pulls (error / sigma_scaled) with their
statistical errors, the mean error in degrees and the mean quoted sigma; ``--json`` writes all
per-seed values.

Usage::

    PYTHONPATH=python python tools/radio_pull_study.py --seeds 50 --days 60 --events-per-hour 4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from icecore.radio import NoiseTable, orient, process, simulate_months
from icecore.radio.io import load_noise_table, save_noise_table
from icecore.radio.orientation import axial_difference


def table_for(seed: int, args: argparse.Namespace) -> tuple[NoiseTable, np.ndarray]:
    cache = Path(args.cache) / f"seed{seed}_{args.days:g}d_{args.events_per_hour:g}ph_{args.arm}.npz"
    arms_file = cache.with_suffix(".arms.npy")
    if cache.exists() and arms_file.exists():
        return load_noise_table(cache), np.load(arms_file)
    arm = None if args.arm == "random" else float(args.arm)
    sims = list(simulate_months(args.start, args.days, seed=seed, antennas=1, arm_azimuth_deg=arm,
                                events_per_hour=args.events_per_hour))
    arms = sims[0][1].arm_azimuth_deg
    table = NoiseTable.concatenate([process(d, threads=args.threads, progress=False) for d, _ in sims])
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_noise_table(table, cache)
    np.save(arms_file, arms)
    return table, arms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--days", type=float, default=60.0)
    ap.add_argument("--start", default="2024-03-01")
    ap.add_argument("--events-per-hour", type=float, default=4.0)
    ap.add_argument("--arm", default="random", help="pol-0 arm azimuth in degrees, or 'random' (per seed)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/icecore_radio_pulls")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        table, arms = table_for(seed, args)
        res = orient(table)
        row = {"seed": seed}
        for pol, label in enumerate(("A1P0", "A1P1")):
            y = res.yearly[label]
            err = float(axial_difference(y.arm_deg, arms[pol]))
            row[label] = {"truth": float(arms[pol]), "fit": y.arm_deg, "error": err, "sigma": y.sigma_deg,
                          "sigma_scaled": y.sigma_scaled_deg, "pull": err / y.sigma_scaled_deg}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for label in ("A1P0", "A1P1"):
        p = np.array([r[label]["pull"] for r in rows])
        e = np.array([r[label]["error"] for r in rows])
        s = np.array([r[label]["sigma_scaled"] for r in rows])
        n = p.size
        summary[label] = {"n": n, "pull_mean": float(p.mean()), "pull_mean_err": float(p.std(ddof=1) / np.sqrt(n)),
                          "pull_std": float(p.std(ddof=1)), "pull_std_err": float(p.std(ddof=1) / np.sqrt(2 * (n - 1))),
                          "error_mean_deg": float(e.mean()), "error_std_deg": float(e.std(ddof=1)),
                          "sigma_mean_deg": float(s.mean())}
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
