"""A loaded public release: its seasons (events, good runs, IRFs), as :func:`icecore.ps.load_public_data`
returns them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .irf import EffectiveArea, SmearingMatrix

__all__ = ["Season", "PublicData", "uptime_union_days"]


def uptime_union_days(uptime_mjd: np.ndarray) -> float:
    """Length [days] of the union of good-run intervals ``(n, 2)`` [MJD start, MJD stop].

    Intervals may be unsorted and overlap (the 10-year release's IC86_V-VII lists hold a few
    overlapping runs); each instant is counted once.
    """
    up = np.asarray(uptime_mjd, dtype=float).reshape(-1, 2)
    if up.size == 0:
        return 0.0
    up = up[np.argsort(up[:, 0], kind="stable")]
    start, stop = up[:, 0], np.maximum.accumulate(up[:, 1])  # stop: latest end so far
    # a run starting after every earlier run has ended opens a new block of overlapping runs
    first = np.concatenate(([0], np.flatnonzero(start[1:] > stop[:-1]) + 1))
    last = np.concatenate((first[1:] - 1, [len(up) - 1]))
    return float(np.sum(stop[last] - start[first]))


@dataclass
class Season:
    """One data-taking season of a public release.

    Attributes
    ----------
    name : str
        Season name (``IC86_II`` ...).
    mjd, log10_e, angerr_deg, ra_deg, dec_deg, azimuth_deg, zenith_deg : (n,) arrays
        Event columns (events outside the good runs already removed).
    uptime_mjd : (n_runs, 2) array
        Good-run start/stop times (MJD).
    aeff : EffectiveArea
    smearing : SmearingMatrix
    release : {"10y", "14y", "txs", "ic86-2011"}
    n_cut : int
        Events of the file outside every good run (removed).
    region : (ra_deg, dec_deg, radius_deg) or None
        For releases that publish only the events near one source (the TXS 0506+056 release):
        the cone they cover; None for a full-sky sample.
    instrument : str
        How the season's instrument model was obtained (the release's smearing matrix, or the
        approximation of :mod:`icecore.ps.proxy_irf` used in its place).
    """

    name: str
    mjd: np.ndarray
    log10_e: np.ndarray
    angerr_deg: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    azimuth_deg: np.ndarray
    zenith_deg: np.ndarray
    uptime_mjd: np.ndarray
    aeff: EffectiveArea
    smearing: SmearingMatrix
    release: str = "10y"
    n_cut: int = 0
    region: tuple[float, float, float] | None = None
    instrument: str = "smearing matrix of the release"

    @property
    def livetime_days(self) -> float:
        """Length of the union of the good runs [days] (overlapping runs, as some release files
        have, are counted once)."""
        return uptime_union_days(self.uptime_mjd)

    @property
    def livetime_s(self) -> float:
        """Sum of the good-run lengths [s]."""
        return self.livetime_days * 86400.0

    def __len__(self) -> int:
        return len(self.mjd)


@dataclass
class PublicData:
    """A set of seasons read from one release folder (see :func:`icecore.ps.load_public_data`)."""

    path: str
    release: str
    seasons: list[Season] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.seasons]

    def __getitem__(self, name: str) -> Season:
        for s in self.seasons:
            if s.name == name:
                return s
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.seasons)

    def __iter__(self) -> Iterator[Season]:
        return iter(self.seasons)

    def select(self, names: list[str] | tuple[str, ...]) -> PublicData:
        """The same release restricted to the seasons ``names`` (in that order; KeyError if absent)."""
        return PublicData(self.path, self.release, [self[s] for s in names])
