"""The sky-scan step of ``icecore demo``: simulated muon -> scan -> contours -> products.

Uses the photon likelihood when :mod:`icecore.likelihood` is present (a coarse 2/8/32 schedule
keeps the demo to seconds; ``icecore scan run`` does the full 8/64/512 scan), otherwise the
SYNTHETIC analytic event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["demo_step"]

DEMO_NSIDES = (2, 8, 32)
DEMO_EXTENSIONS = (4.0, 8.0)


def demo_step(out: Path, rng: np.random.Generator, threads: int) -> dict[str, Any]:
    """Run the scan demo into ``out/scan`` and return its summary (best fit, areas, error to truth)."""
    from .._io import atomic_write
    from ..coords import angular_distance_deg
    from .events import event_to_json, simulate_event, true_direction
    from .loop import scan
    from .products import write_products

    try:
        import icecore.likelihood  # noqa: F401

        synthetic = False
    except ImportError:
        synthetic = True
    ev = simulate_event(seed=rng, energy_tev=200.0, mjd=60000.0, synthetic=synthetic)
    outdir = Path(out) / "scan"
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write(outdir / "event.json", event_to_json(ev))
    res = scan(ev, nsides=DEMO_NSIDES, extensions=DEMO_EXTENSIONS, threads=threads or None, progress=False)
    summary = write_products(res, outdir, plots=True)
    truth = true_direction(ev)
    best = res.best_fit
    err = float(angular_distance_deg(best["ra_deg"], best["dec_deg"], *truth)) if truth else float("nan")
    cal = summary["contours"]["icecube-calibrated"]
    return {
        "summary": (f"{'synthetic' if synthetic else 'Pandel MPE'} scan {'/'.join(map(str, DEMO_NSIDES))}: "
                    f"best RA {best['ra_deg']:.2f} Dec {best['dec_deg']:+.2f} deg, {err:.2f} deg from truth, "
                    f"90% area {cal['areas_deg2']['90']:.1f} deg2 (calibrated), {res.info['fits']} fits"),
        "best_fit": best,
        "error_deg": err,
        "areas_deg2": {k: v["areas_deg2"] for k, v in summary["contours"].items()},
        "pixels_per_level": res.info["pixels_per_level"],
        "files": summary["files"],
    }
