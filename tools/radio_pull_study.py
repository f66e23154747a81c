"""Pull study of the radio arm orientation: many simulated seeds -> pulls of each arm (SIMULATION).

For each seed a ``--days``-day sample of one antenna is simulated (random arm orientation drawn
from the seed unless ``--arm`` is given), processed (cleaning, filtering, RMS) and oriented with
the default automatic cut (:func:`icecore.radio.orient`). The noise table of each seed is cached
in ``--cache``, so a re-run (``--cached-only``: only seeds already cached, nothing simulated)
repeats the fits with the current code in seconds per seed.

Per seed and arm the JSON keeps the truth, the fit, its error (fit - truth, axial, degrees), the
statistical sigma, the quoted sigma (``sigma_scaled``: inflated only when the monthly chi^2 is
significant, see :func:`icecore.radio.orientation.combine_axial`) and the sigma of the former
rule (``sigma_birge``: inflated whenever chi^2/ndof > 1). To locate a bias, the same noise table
is also fitted with one ingredient changed, and the paired difference to the default fit kept:

- ``no_cut``: no (RMS, spread) box (only the cleaning's rejections);
- ``harmonic4``: the monthly model also has cos 4phi, sin 4phi terms (the RMS is not linear in the
  Galactic power; with an uneven GC-azimuth coverage a missing harmonic can pull the phase);
- ``equal_weights``: the months combined with equal weights (a weight correlated with the angle
  would bias the weighted mean);
- ``exact_gc``: the GC azimuth of every event transformed by astropy (no hourly interpolation).

The summary gives per arm the mean and width of the pulls with their statistical errors for
each sigma, the mean error in degrees, the mean paired shift of each variant with its error,
and the first harmonics of the error against the true arm azimuth (an arm-dependent bias).

Usage::

    PYTHONPATH=python nice -n 10 python tools/radio_pull_study.py --seeds 200 --days 60 \\
        --events-per-hour 10 --json tools/results/radio_pull_study_default_rate.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from icecore._io import atomic_write
from icecore.radio import NoiseTable, orient, process, simulate_months
from icecore.radio.cuts import RmsCut
from icecore.radio.galactic import gc_azimuth
from icecore.radio.io import load_noise_table, save_noise_table
from icecore.radio.orientation import axial_difference, combine_axial, fit_sinusoid, month_labels

LABELS = ("A1P0", "A1P1")


def cache_files(seed: int, args: argparse.Namespace) -> tuple[Path, Path]:
    cache = Path(args.cache) / f"seed{seed}_{args.days:g}d_{args.events_per_hour:g}ph_{args.arm}.npz"
    return cache, cache.with_suffix(".arms.npy")


def table_for(seed: int, args: argparse.Namespace) -> tuple[NoiseTable, np.ndarray] | None:
    cache, arms_file = cache_files(seed, args)
    if cache.exists() and arms_file.exists():
        return load_noise_table(cache), np.load(arms_file)
    if args.cached_only:
        return None
    arm = None if args.arm == "random" else float(args.arm)
    sims = list(simulate_months(args.start, args.days, seed=seed, antennas=1, arm_azimuth_deg=arm,
                                events_per_hour=args.events_per_hour))
    arms = sims[0][1].arm_azimuth_deg
    table = NoiseTable.concatenate([process(d, threads=args.threads, progress=False) for d, _ in sims])
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_noise_table(table, cache)
    np.save(arms_file, arms)
    return table, arms


def _harmonic4_month(az: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Arm (deg) and its sigma from RMS = A + c2 cos 2phi + s2 sin 2phi + c4 cos 4phi + s4 sin 4phi."""
    p = np.radians(az)
    X = np.column_stack([np.ones_like(p), np.cos(2 * p), np.sin(2 * p), np.cos(4 * p), np.sin(4 * p)])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    cov = float(resid @ resid) / (y.size - 5) * np.linalg.inv(X.T @ X)
    c, s = beta[1], beta[2]
    r2 = c * c + s * s
    var = (c * c * cov[2, 2] + s * s * cov[1, 1] - 2 * c * s * cov[1, 2]) / (r2 * r2)
    return float(np.mod(0.5 * np.degrees(np.arctan2(s, c)) + 90.0, 180.0)), float(0.5 * np.degrees(np.sqrt(var)))


def _combine(per_month: list[tuple[float, float]], equal: bool = False) -> float:
    arms = [a for a, _ in per_month]
    sig = [1.0] * len(arms) if equal else [s for _, s in per_month]
    return combine_axial(arms, sig).arm_deg


def variants(table: NoiseTable, res, az: np.ndarray, az_exact: np.ndarray) -> dict[str, dict[str, float]]:
    """Arm (deg) of each channel with one ingredient of the default fit changed."""
    months = month_labels(table.times_mjd)
    usable = ~table.rejected
    cut = RmsCut(**res.cut_report["cut"])
    keep = usable & cut.passes(table.rms, table.spread)
    out: dict[str, dict[str, float]] = {}
    for ch, label in enumerate(LABELS):
        used = res.yearly[label].months  # the months the default fit combined
        sels = {m: keep[ch] & (months == m) for m in used}
        out[label] = {
            "default_replayed": _combine([_f(fit_sinusoid(az[s], table.rms[ch, s])) for s in sels.values()]),
            "no_cut": _combine([_f(fit_sinusoid(az[s], table.rms[ch, s]))
                                for s in (usable[ch] & (months == m) for m in used)]),
            "harmonic4": _combine([_harmonic4_month(az[s], table.rms[ch, s]) for s in sels.values()]),
            "equal_weights": _combine([_f(fit_sinusoid(az[s], table.rms[ch, s])) for s in sels.values()],
                                      equal=True),
            "exact_gc": _combine([_f(fit_sinusoid(az_exact[s], table.rms[ch, s])) for s in sels.values()]),
        }
    return out


def _f(fit) -> tuple[float, float]:
    return fit.arm_deg, fit.sigma_deg


def one_seed(seed: int, table: NoiseTable, arms: np.ndarray) -> dict:
    res = orient(table, progress=False)
    az = gc_azimuth(table.times_mjd)
    az_exact = gc_azimuth(table.times_mjd, exact=True)
    var = variants(table, res, az, az_exact)
    row: dict = {"seed": seed}
    for pol, label in enumerate(LABELS):
        y = res.yearly[label]
        err = float(axial_difference(y.arm_deg, arms[pol]))
        birge = y.sigma_deg * max(1.0, float(np.sqrt(y.chi2 / y.ndof)) if y.ndof else 1.0)
        row[label] = {"truth": float(arms[pol]), "fit": y.arm_deg, "error": err, "sigma": y.sigma_deg,
                      "sigma_scaled": y.sigma_scaled_deg, "sigma_birge": birge, "chi2": y.chi2, "ndof": y.ndof,
                      "chi2_prob": y.chi2_prob, "pull": err / y.sigma_scaled_deg,
                      "shift": {k: float(axial_difference(v, y.arm_deg)) for k, v in var[label].items()}}
    return row


def _mean_err(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def summarise(rows: list[dict]) -> dict:
    summary = {}
    for label in LABELS:
        e = np.array([r[label]["error"] for r in rows])
        truth = np.radians(2.0 * np.array([r[label]["truth"] for r in rows]))
        n = e.size
        out: dict = {"n": n}
        for key in ("sigma_scaled", "sigma", "sigma_birge"):
            p = e / np.array([r[label][key] for r in rows])
            m, me = _mean_err(p)
            sd = float(p.std(ddof=1))
            out[f"pull[{key}]"] = {"mean": m, "mean_err": me, "width": sd, "width_err": sd / np.sqrt(2 * (n - 1))}
        quoted = out["pull[sigma_scaled]"]
        out["pull_mean"], out["pull_mean_err"] = quoted["mean"], quoted["mean_err"]
        out["pull_std"], out["pull_std_err"] = quoted["width"], quoted["width_err"]
        out["error_mean_deg"], out["error_mean_err_deg"] = _mean_err(e)
        out["error_std_deg"] = float(e.std(ddof=1))
        out["sigma_mean_deg"] = float(np.mean([r[label]["sigma"] for r in rows]))
        out["sigma_scaled_mean_deg"] = float(np.mean([r[label]["sigma_scaled"] for r in rows]))
        out["fraction_scaled"] = float(np.mean([r[label]["sigma_scaled"] > r[label]["sigma"] for r in rows]))
        out["shift_deg"] = {}
        for k in rows[0][label]["shift"]:
            m, me = _mean_err(np.array([r[label]["shift"][k] for r in rows]))
            out["shift_deg"][k] = {"mean": m, "mean_err": me,
                                   "rms": float(np.sqrt(np.mean([r[label]["shift"][k] ** 2 for r in rows])))}
        summary[label] = out
        if n < 10:
            continue
        # arm-dependent bias: error = b0 + b1 cos 2arm + b2 sin 2arm + b3 cos 4arm + b4 sin 4arm
        X = np.column_stack([np.ones(n), np.cos(truth), np.sin(truth), np.cos(2 * truth), np.sin(2 * truth)])
        beta, *_ = np.linalg.lstsq(X, e, rcond=None)
        resid = e - X @ beta
        cov = float(resid @ resid) / max(n - 5, 1) * np.linalg.inv(X.T @ X)
        out["error_vs_arm_deg"] = {"coef": beta.tolist(), "err": np.sqrt(np.diag(cov)).tolist(),
                                   "terms": ["1", "cos 2arm", "sin 2arm", "cos 4arm", "sin 4arm"]}
    e0 = np.array([r["A1P0"]["error"] for r in rows])
    e1 = np.array([r["A1P1"]["error"] for r in rows])
    summary["arm_error_correlation"] = float(np.corrcoef(e0, e1)[0, 1])
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--days", type=float, default=60.0)
    ap.add_argument("--start", default="2024-03-01")
    ap.add_argument("--events-per-hour", type=float, default=10.0)
    ap.add_argument("--arm", default="random", help="pol-0 arm azimuth in degrees, or 'random' (per seed)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/icecore_radio_pulls")
    ap.add_argument("--cached-only", action="store_true", help="fit only seeds whose noise table is cached")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        got = table_for(seed, args)
        if got is None:
            continue
        rows.append(one_seed(seed, *got))
        print(json.dumps({"seed": seed} | {k: round(rows[-1][k]["pull"], 3) for k in LABELS}), flush=True)
        if args.json and len(rows) % 10 == 0:  # incremental: a stopped run keeps what it has
            atomic_write(args.json, json.dumps({"args": vars(args), "rows": rows, "summary": summarise(rows)},
                                               indent=1))
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.json:
        atomic_write(args.json, json.dumps({"args": vars(args), "rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
