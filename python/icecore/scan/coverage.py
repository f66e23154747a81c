"""Contour coverage: how often the true direction lies inside the 50 %/90 % contours.

Each simulated event is scanned; the statistic 2Δ(−ln L) at the true direction (on the drawn
surface of the finest map, :mod:`.surface`) is compared with each convention's critical values. Fractions carry binomial
standard errors sqrt(p (1 - p) / n). The calibration inverts the question: the empirical 50 %
and 90 % quantiles of 2Δ(−ln L) at the truth are the critical values that would make the
contours cover as advertised (per energy bin when a range is simulated).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._progress import progress_bar
from .._validation import check_positive
from ..errors import InputError
from . import contours as _c
from .events import simulate_event, true_direction
from .loop import scan

__all__ = ["coverage_study", "binomial_error", "calibrated_convention"]

log = logging.getLogger(__name__)


def binomial_error(k: int, n: int) -> float:
    """Standard error sqrt(p (1 - p) / n) of a fraction k/n (0 for n = 0)."""
    if n == 0:
        return 0.0
    p = k / n
    return float(np.sqrt(p * (1 - p) / n))


def coverage_study(*, n_events: int = 200, seed: int = 1, energy_tev: float | Sequence[float] = 200.0,
                   mismatch: bool = True, synthetic: bool = False, nsides: Sequence[int] = (8, 64, 512),
                   extensions: Sequence[float] = (12.0, 24.0),
                   conventions: Sequence[str] = ("wilks", "icecube-calibrated"), energy_bins: int = 3,
                   threads: int | None = None, progress: bool | None = None,
                   fitter_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Simulate and scan ``n_events`` events and report contour coverage and calibrated levels.

    ``energy_tev`` is one energy or a (lo, hi) range drawn log-uniformly; with a range the
    calibration is also given in ``energy_bins`` log bins. ``fitter_options`` go to the
    likelihood fitter (e.g. ``{"n_ring": 0}`` for one vertex seed per pixel).
    """
    n = int(check_positive(n_events, "n_events", integer=True))
    ss = np.random.SeedSequence(int(seed))
    rng = np.random.default_rng(ss.spawn(1)[0])
    e = np.asarray(energy_tev, dtype=float)
    e_range: tuple[float, float] | None = None
    if e.ndim == 0:
        energies = np.full(n, float(e))
    else:
        lo, hi = (float(x) for x in e)
        e_range = (lo, hi)
        energies = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    seeds = ss.spawn(n + 1)[1:]
    stat_true = np.full(n, np.nan)
    areas: dict[str, list[dict[str, float]]] = {c: [] for c in conventions}
    t0 = time.perf_counter()
    for i in progress_bar(range(n), progress=progress, desc="coverage", unit="event"):
        ev = simulate_event(seed=np.random.default_rng(seeds[i]), energy_tev=float(energies[i]), mismatch=mismatch,
                            synthetic=synthetic)
        truth = true_direction(ev)
        if truth is None:  # pragma: no cover - simulate_event always records the truth
            raise InputError("argument 'synthetic': the simulated event carries no true direction", "synthetic")
        res = scan(ev, nsides=nsides, extensions=extensions, threads=threads, progress=False,
                   fitter_options=None if synthetic else fitter_options)
        smap = res.statistic_surface("2dllh")
        stat_true[i] = float(_c.values_at(smap, truth[0], truth[1])[0])
        for c in conventions:
            areas[c].append(res.areas_deg2(c))
    ok = np.isfinite(stat_true)
    report: dict[str, Any] = {
        "n_events": n, "seed": int(seed), "model": ("synthetic" if synthetic else "pandel")
        + (" with mismatch" if mismatch else ""), "energy_tev": energy_tev if e_range is None else list(e_range),
        "nsides": list(nsides), "extensions": list(extensions), "fitter_options": fitter_options or {},
        "seconds": round(time.perf_counter() - t0, 2), "coverage": {}, "median_area_deg2": {},
        "two_dllh_at_truth_quantiles": {q: float(np.quantile(stat_true[ok], float(q) / 100)) for q in ("50", "90")},
    }
    for c in conventions:
        cv = _c.get_convention(c)
        stat = stat_true if cv.statistic == "2dllh" else stat_true / 2.0
        report["coverage"][cv.name] = {}
        for label, level in cv.levels.items():
            k = int(np.count_nonzero(ok & (stat <= level)))
            report["coverage"][cv.name][label] = {"fraction": k / n, "error": binomial_error(k, n), "inside": k}
        report["median_area_deg2"][cv.name] = {lab: float(np.median([a[lab] for a in areas[c]])) for lab in cv.levels}
    report["calibrated_levels"] = {"2dllh": dict(report["two_dllh_at_truth_quantiles"])}
    if e_range is not None:
        edges = np.exp(np.linspace(np.log(e_range[0]), np.log(e_range[1]), energy_bins + 1))
        per_bin = []
        for a, b in zip(edges[:-1], edges[1:]):
            sel = ok & (energies >= a) & (energies <= b)
            if sel.sum() >= 5:
                per_bin.append({"energy_tev": [float(a), float(b)], "n": int(sel.sum()),
                                "50": float(np.quantile(stat_true[sel], 0.5)),
                                "90": float(np.quantile(stat_true[sel], 0.9))})
        report["calibrated_levels"]["per_energy_bin"] = per_bin
    return report


def calibrated_convention(report: dict[str, Any], *, energy_tev: float | None = None) -> _c.CriticalValues:
    """Critical values on 2Δ(−ln L) derived from a :func:`coverage_study` report.

    With ``energy_tev`` and a per-energy-bin calibration in the report, the bin containing that
    energy is used (the nearest bin outside the simulated range).
    """
    levels = report["calibrated_levels"]["2dllh"]
    bins = report["calibrated_levels"].get("per_energy_bin") or []
    name = f"calibrated-{report.get('model', 'sim').replace(' ', '-')}"
    if energy_tev is not None and bins:
        centres = [np.sqrt(b["energy_tev"][0] * b["energy_tev"][1]) for b in bins]
        k = int(np.argmin([abs(np.log(energy_tev / c)) for c in centres]))
        levels = {"50": bins[k]["50"], "90": bins[k]["90"]}
        name += f"-{bins[k]['energy_tev'][0]:.0f}-{bins[k]['energy_tev'][1]:.0f}TeV"
    return _c.CriticalValues(name, {"50": float(levels["50"]), "90": float(levels["90"])}, "2dllh",
                             f"from {report['n_events']} simulated events ({report.get('model')})")
