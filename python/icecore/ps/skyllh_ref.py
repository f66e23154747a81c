"""Run SkyLLH's public-data point-source analysis on a release folder (cross-check / baseline).

Needs the optional ``skyllh`` package (test extra). Uses SkyLLH's own dataset definitions
(``skyllh.datasets.i3.PublicData_10y_ps`` / ``PublicData_14y_ps``) and
``skyllh.analyses.i3.publicdata_ps.time_integrated_ps.create_analysis`` unchanged, so the
folder written by :func:`icecore.ps.simulate_public_data` is read exactly as SkyLLH reads the
real releases.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require

__all__ = ["skyllh_analysis", "skyllh_unblind"]

_PURPOSE = "the SkyLLH cross-check (icecore.ps.skyllh_ref)"


def _skyllh() -> None:
    """Raise the standard ImportError (naming the extra) when SkyLLH is not installed."""
    require("skyllh", "test", _PURPOSE)


def skyllh_analysis(path: str, seasons: Sequence[str], ra_deg: float, dec_deg: float, *, release: str | None = None,
                    construct_sig_generator: bool = False, **kwargs: Any):
    """Build SkyLLH's time-integrated analysis on a release folder; returns (analysis, seconds)."""
    _skyllh()
    from skyllh.analyses.i3.publicdata_ps.time_integrated_ps import create_analysis
    from skyllh.core.config import Config
    from skyllh.core.source_model import PointLikeSource

    root = Path(path).resolve()
    if release is None:
        release = "14y" if (root / "irfs" / "IC86_effectiveArea.csv").exists() else "10y"
    if release == "14y":
        from skyllh.datasets.i3 import PublicData_14y_ps as mod
    else:
        from skyllh.datasets.i3 import PublicData_10y_ps as mod
    cfg = Config()
    dsc = mod.create_dataset_collection(cfg=cfg, base_path=str(root.parent), sub_path_fmt=root.name)
    datasets = dsc[list(seasons)]
    src = PointLikeSource(ra=np.deg2rad(ra_deg), dec=np.deg2rad(dec_deg))
    t0 = time.perf_counter()
    ana = create_analysis(cfg=cfg, datasets=datasets, source=src, construct_sig_generator=construct_sig_generator,
                          **kwargs)
    return ana, time.perf_counter() - t0


def skyllh_unblind(path: str, seasons: Sequence[str], ra_deg: float, dec_deg: float, *, seed: int = 1,
                   release: str | None = None) -> dict[str, float]:
    """TS, ns, gamma from SkyLLH's ``create_analysis`` + ``unblind`` (and the seconds taken)."""
    _skyllh()
    from skyllh.core.random import RandomStateService

    ana, t_build = skyllh_analysis(path, seasons, ra_deg, dec_deg, release=release)
    t0 = time.perf_counter()
    ts, params, status = ana.unblind(minimizer_rss=RandomStateService(seed=seed))
    return {"ts": float(ts), "ns": float(params["ns"]), "gamma": float(params["gamma"]),
            "seconds_build": t_build, "seconds_unblind": time.perf_counter() - t0,
            "warnflag": int(status.get("warnflag", 0)) if isinstance(status, dict) else 0}
