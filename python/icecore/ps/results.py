"""Results of the point-source analysis: one fit, a set of trials, a sensitivity, a sky map.

Each result converts to plain Python (``to_dict``) for JSON and writes itself to a file
atomically (``to_npz`` / ``to_json``).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write

__all__ = ["STATUS", "FitResult", "TrialResults", "SensitivityResult", "SkyMap"]

STATUS = {0: "ok", 1: "ns at upper bound", 2: "no event in the cone", 3: "failed: non-finite likelihood"}
"""Fit status codes of the kernel and their names."""


def _write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return atomic_write(path, buf.getvalue())


@dataclass
class FitResult:
    """Result of one fit.

    Attributes
    ----------
    ts : float
        Test statistic 2 log(L(ns, gamma) / L(0)) (>= 0).
    ns : float
        Fitted number of signal events (all seasons).
    gamma : float
        Fitted spectral index (for ts = 0 the index where the likelihood rises fastest).
    status : str
        "ok", "ns at upper bound", "no event in the cone" or "failed: non-finite likelihood".
    n_selected : int
        Events within the cone (the others enter only through the normalisation term).
    ns_seasons : dict
        ns shared among seasons by their acceptance at the fitted gamma.
    """

    ts: float
    ns: float
    gamma: float
    status: str
    n_selected: int
    ns_seasons: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the fit succeeded (every status but a non-finite likelihood)."""
        return self.status in ("ok", "ns at upper bound", "no event in the cone")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialResults:
    """Arrays of trial results (``ts``, ``ns``, ``gamma``, ``status``) and the injected counts.

    ``status`` holds the kernel's codes (keys of :data:`STATUS`); ``seed`` is the seed the trials
    were run with.
    """

    ts: np.ndarray
    ns: np.ndarray
    gamma: np.ndarray
    status: np.ndarray
    n_injected: np.ndarray
    seed: Any = None

    def __len__(self) -> int:
        return len(self.ts)

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-trial arrays by name (ts, ns, gamma, status, n_injected)."""
        return {"ts": self.ts, "ns": self.ns, "gamma": self.gamma, "status": self.status,
                "n_injected": self.n_injected}

    def to_dict(self) -> dict[str, list[Any]]:
        """The per-trial arrays as lists (for JSON)."""
        return {k: v.tolist() for k, v in self.arrays().items()}

    def to_npz(self, path: str | os.PathLike[str]) -> Path:
        """Write the trials to a ``.npz`` file atomically."""
        return _write_npz(path, self.arrays())

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the trials to a JSON file (one list per array) atomically."""
        return atomic_write(path, json.dumps(self.to_dict()))

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``.json`` when the name ends so, to ``.npz`` otherwise."""
        return self.to_json(path) if Path(path).suffix == ".json" else self.to_npz(path)


@dataclass
class SensitivityResult:
    """Sensitivity or discovery potential.

    Attributes
    ----------
    ns : float
        Mean number of injected signal events (all seasons) reaching the goal.
    flux : float
        The same as flux normalisation phi0 [GeV^-1 cm^-2 s^-1] at e0 for gamma.
    ts_threshold : float
        Background TS threshold (median, or the 5 sigma TS).
    fraction : float
        Required fraction of signal trials above the threshold (0.9 or 0.5).
    gamma, e0 : float
        Injected spectrum (e0 in GeV).
    points : list of (ns, fraction, n_trials)
        The signal-trial evaluations used.
    """

    ns: float
    flux: float
    ts_threshold: float
    fraction: float
    gamma: float
    e0: float
    points: list[tuple[float, float, int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SKY_ARRAYS = ("ts", "ns", "gamma", "status", "ra", "dec")


@dataclass
class SkyMap:
    """Fit results at every HEALPix pixel (RING ordering, equatorial), from :func:`icecore.ps.sky_scan`.

    Attributes
    ----------
    nside : int
        HEALPix resolution.
    ts, ns, gamma : (n_pix,) float arrays
        Fit results (pixels outside the scanned declination range: 0).
    status : (n_pix,) int32 array
        Kernel status codes (:data:`STATUS`; 2 for pixels that were not fitted).
    ra, dec : (n_pix,) float arrays
        Pixel centres [deg].
    seconds : float
        Time spent in the fits [s].

    ``skymap["ts"]`` etc. give the same arrays as the attributes (``"seconds"`` the float).
    """

    nside: int
    ts: np.ndarray
    ns: np.ndarray
    gamma: np.ndarray
    status: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    seconds: float = 0.0

    def __getitem__(self, key: str) -> Any:
        if key not in _SKY_ARRAYS and key != "seconds":
            raise KeyError(key)
        return getattr(self, key)

    def __len__(self) -> int:
        return len(self.ts)

    def hottest(self) -> int:
        """Index of the pixel with the largest TS."""
        return int(np.argmax(self.ts))

    def to_npz(self, path: str | os.PathLike[str]) -> Path:
        """Write ts, ns, gamma, status, ra, dec (one array per name) to a ``.npz`` file atomically."""
        return _write_npz(path, {k: getattr(self, k) for k in _SKY_ARRAYS})
