"""The two-dimensional (RMS amplitude, RMS spread) quality cut.

An event passes if ``rms_min <= rms <= rms_max`` and ``spread <= spread_max``. The box is either
given explicitly or chosen automatically: for every month the events of each channel whose RMS
or spread lies more than ``k`` robust sigmas (1.4826 MAD) from that month's median are counted as
outliers; the month with the smallest outlier fraction is the cleanest, and the box is the
union over channels of median +- k sigma (RMS) and median + k sigma (spread) in that month. The
box is then held fixed for all months and polarisations, so that it cannot follow (and hide)
a month's contamination.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validation import check_positive
from ..errors import InputError

__all__ = ["RmsCut", "robust_center_scale", "choose_cut", "apply_cut"]


@dataclass
class RmsCut:
    """Box cut in (RMS, spread); ``source`` says how it was chosen."""

    rms_min: float
    rms_max: float
    spread_max: float
    source: str = "explicit"

    def __post_init__(self) -> None:
        for name in ("rms_min", "rms_max", "spread_max"):
            v = getattr(self, name)
            if not np.isfinite(v):
                raise InputError(f"argument '{name}': must be finite, got {v!r}", name)
        if not self.rms_min < self.rms_max:
            raise InputError(f"argument 'rms_max': must exceed rms_min ({self.rms_min}), got {self.rms_max}", "rms_max")
        if self.spread_max <= 0:
            raise InputError(f"argument 'spread_max': must be > 0, got {self.spread_max}", "spread_max")

    def passes(self, rms: np.ndarray, spread: np.ndarray) -> np.ndarray:
        return (rms >= self.rms_min) & (rms <= self.rms_max) & (spread <= self.spread_max)

    def to_dict(self) -> dict:
        return asdict(self)


def robust_center_scale(x: np.ndarray) -> tuple[float, float]:
    """Median and 1.4826 MAD of a 1-d array (scale floored at 1e-12 of the median magnitude)."""
    med = float(np.median(x))
    mad = 1.482602218505602 * float(np.median(np.abs(x - med)))
    return med, max(mad, 1e-12 * max(abs(med), 1e-300))


def choose_cut(rms: np.ndarray, spread: np.ndarray, months: np.ndarray, usable: np.ndarray, *,
               k: float = 5.0, min_events: int = 20) -> tuple[RmsCut, dict[str, float]]:
    """Box cut from the cleanest month (see module docstring).

    Parameters
    ----------
    rms, spread, usable : (channels, events) arrays; ``usable`` excludes rejected events
    months : (events,) month labels
    k : float
        Width of the box in robust sigmas (default 5).

    Returns
    -------
    cut : RmsCut
    outlier_fraction : dict month -> fraction of usable events flagged as outliers
    """
    k = check_positive(k, "k")
    frac: dict[str, float] = {}
    for m in np.unique(months):
        sel = months == m
        n_out = n_all = 0
        for ch in range(rms.shape[0]):
            ok = usable[ch] & sel
            if ok.sum() < min_events:
                continue
            r, s = rms[ch, ok], spread[ch, ok]
            mr, sr = robust_center_scale(r)
            ms, ss = robust_center_scale(s)
            n_out += int(np.sum((np.abs(r - mr) > k * sr) | (np.abs(s - ms) > k * ss)))
            n_all += int(ok.sum())
        if n_all:
            frac[str(m)] = n_out / n_all
    if not frac:
        raise InputError(f"no month has >= {min_events} usable events per channel to choose the cut from", "rms")
    best = min(sorted(frac), key=lambda m: frac[m])
    sel = months == best
    lo, hi, smax = np.inf, -np.inf, -np.inf
    for ch in range(rms.shape[0]):
        ok = usable[ch] & sel
        if ok.sum() < min_events:
            continue
        mr, sr = robust_center_scale(rms[ch, ok])
        ms, ss = robust_center_scale(spread[ch, ok])
        lo, hi, smax = min(lo, mr - k * sr), max(hi, mr + k * sr), max(smax, ms + k * ss)
    cut = RmsCut(rms_min=float(max(lo, 0.0)), rms_max=float(hi), spread_max=float(smax),
                 source=f"cleanest month {best} (outlier fraction {frac[best]:.4f}, k = {k:g})")
    return cut, frac


def apply_cut(cut: RmsCut, rms: np.ndarray, spread: np.ndarray, months: np.ndarray, usable: np.ndarray,
              labels: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Keep mask (channels, events) and a report of what the cut removed per channel and month."""
    keep = usable & cut.passes(rms, spread)
    report: dict[str, Any] = {"cut": cut.to_dict(), "channels": {}}
    for ch, label in enumerate(labels):
        per_month = {}
        for m in np.unique(months):
            sel = (months == m) & usable[ch]
            per_month[str(m)] = {
                "usable": int(sel.sum()),
                "rms_low": int(np.sum(sel & (rms[ch] < cut.rms_min))),
                "rms_high": int(np.sum(sel & (rms[ch] > cut.rms_max))),
                "spread_high": int(np.sum(sel & (spread[ch] > cut.spread_max))),
                "removed": int(np.sum(sel & ~keep[ch])),
            }
        report["channels"][label] = {
            "usable": int(usable[ch].sum()),
            "removed": int(np.sum(usable[ch] & ~keep[ch])),
            "months": per_month,
        }
    return keep, report
