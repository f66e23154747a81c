"""IC86 DOM positions shipped with the package, and the Cherenkov geometry of a track.

The table ``icecore/data/icecube86_geometry.csv.gz`` holds the 5160 in-ice DOMs (86 strings x
60 DOMs) in IceCube coordinates (m). It is derived from the public ``icecube.geo`` by shifting z
by +1948.07 m (``tools/make_geometry.py`` regenerates it); the tests cross-check it against an
independent public table.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, as_degrees
from ..errors import InputError
from .ice import DEFAULT_ICE, IceModel

__all__ = ["DetectorGeometry", "load_geometry", "track_geometry", "direction_vector"]

N_STRINGS = 86
N_DOMS_PER_STRING = 60


@dataclass(frozen=True)
class DetectorGeometry:
    """In-ice DOM positions.

    Attributes
    ----------
    string, dom : (n,) int arrays (1-based)
    positions : (n, 3) float array, m, IceCube coordinates
    """

    string: np.ndarray
    dom: np.ndarray
    positions: np.ndarray

    def __post_init__(self) -> None:
        table = np.full((N_STRINGS + 1, N_DOMS_PER_STRING + 1), -1, dtype=np.int64)
        table[self.string, self.dom] = np.arange(self.string.size)
        object.__setattr__(self, "_index", table)

    def index(self, string: Any, dom: Any) -> np.ndarray:
        """Row indices of (string, dom) pairs; raises InputError for unknown DOMs."""
        s = np.asarray(string)
        d = np.asarray(dom)
        bad = (s < 1) | (s > N_STRINGS) | (d < 1) | (d > N_DOMS_PER_STRING)
        if np.any(bad):
            i = int(np.flatnonzero(bad.ravel())[0])
            raise InputError(
                f"argument 'pulses': unknown DOM (string {s.ravel()[i]}, dom {d.ravel()[i]}); "
                f"IC86 has strings 1-{N_STRINGS} and DOMs 1-{N_DOMS_PER_STRING}",
                "pulses",
            )
        idx = self._index[s, d]  # type: ignore[attr-defined]
        if np.any(idx < 0):
            i = int(np.flatnonzero(idx.ravel() < 0)[0])
            raise InputError(
                f"argument 'pulses': DOM ({s.ravel()[i]}, {d.ravel()[i]}) is not in the geometry", "pulses"
            )
        return idx

    def position(self, string: Any, dom: Any) -> np.ndarray:
        """(..., 3) positions in m of (string, dom) pairs."""
        return self.positions[self.index(string, dom)]


@lru_cache(maxsize=1)
def load_geometry() -> DetectorGeometry:
    """The shipped IC86 in-ice geometry (cached)."""
    ref = resources.files("icecore").joinpath("data/icecube86_geometry.csv.gz")
    with ref.open("rb") as fh:
        text = gzip.decompress(fh.read()).decode()
    arr = np.loadtxt(text.splitlines(), delimiter=",", comments="#", skiprows=2)
    pos = np.ascontiguousarray(arr[:, 2:5], dtype=float)
    pos.setflags(write=False)
    return DetectorGeometry(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), pos)


def direction_vector(zenith_deg: Any, azimuth_deg: Any) -> np.ndarray:
    """Unit vector(s) of travel of a particle coming from (zenith, azimuth) (IceCube convention)."""
    z = np.radians(as_degrees(zenith_deg, "zenith_deg", ndim=(0, 1)))
    a = np.radians(as_degrees(azimuth_deg, "azimuth_deg", ndim=(0, 1)))
    return -np.stack([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)], axis=-1)


def track_geometry(
    positions: Any,
    vertex: Any,
    zenith_deg: float,
    azimuth_deg: float,
    *,
    ice: IceModel | None = None,
) -> np.ndarray:
    """Cherenkov geometry of an infinite track for DOM positions (C++ kernel).

    Parameters
    ----------
    positions : (n, 3) array, m
    vertex : (4,) array: x, y, z (m) of a point on the track and the time (ns) the muon passes it
    zenith_deg, azimuth_deg : float
        Direction the muon comes from (IceCube convention), degrees.
    ice : IceModel, optional (refractive indices)

    Returns
    -------
    (n,) numpy structured array with float64 fields ``distance`` (closest approach, m), ``t_geo``
    (direct Cherenkov photon arrival time, ns), ``cos_eta`` (cosine of the angle between the
    down-facing PMT axis and the incoming photon direction) and ``along`` (closest-approach point
    along the direction of travel from the vertex, m); ``out["distance"]`` etc. are (n,) arrays.
    """
    ice = DEFAULT_ICE if ice is None else ice
    pos = as_array(positions, "positions", ndim=2)
    if pos.shape[1] != 3:
        raise InputError(f"argument 'positions': expected shape (n, 3), got {pos.shape}", "positions")
    v = as_array(vertex, "vertex", ndim=1)
    if v.size != 4:
        raise InputError("argument 'vertex': expected (x, y, z, t)", "vertex")
    zen = float(as_degrees(zenith_deg, "zenith_deg", ndim=0))
    azi = float(as_degrees(azimuth_deg, "azimuth_deg", ndim=0))
    return _core.likelihood.track_geometry(
        pos, v[0], v[1], v[2], v[3], np.radians(zen), np.radians(azi), ice.n_phase, ice.n_group, ice.c_m_per_ns
    )
