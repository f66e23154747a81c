"""HEALPix NESTED primitives of the sky scan (C++), with argument checks.

Angles in radians here (these mirror healpy's ``nest=True`` functions, which are the oracle in
the tests): theta is the colatitude in [0, pi], phi the longitude. For the scan's equatorial
sky, theta = 90 deg - Dec and phi = RA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, check_threads
from ..errors import InputError

__all__ = [
    "check_nside",
    "pix2ang_nest",
    "pix2vec_nest",
    "ang2pix_nest",
    "vec2pix_nest",
    "children_nest",
    "parent_nest",
    "query_disc_nest",
    "max_pixrad",
]


def check_nside(nside: Any, name: str = "nside") -> int:
    """An nside: a power of two in [1, 2^29]."""
    if isinstance(nside, bool) or not isinstance(nside, (int, np.integer)):
        raise InputError(f"argument '{name}': expected an int, got {nside!r}", name)
    n = int(nside)
    if n < 1 or n > 2**29 or n & (n - 1):
        raise InputError(f"argument '{name}': must be a power of two in [1, 2^29], got {n}", name)
    return n


def _pix(nside: int, pix: Any) -> np.ndarray:
    p = as_array(pix, "pix", ndim=(0, 1), dtype=np.int64, kinds="iu", allow_empty=True)
    if p.size and (p.min() < 0 or p.max() >= 12 * nside * nside):
        raise InputError(f"argument 'pix': values must be within [0, {12 * nside * nside})", "pix")
    return p


def pix2ang_nest(nside: int, pix: Any, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(theta, phi) in radians of NESTED pixel centres (phi in [0, 2 pi))."""
    from .. import _core

    n = check_nside(nside)
    p = _pix(n, pix)
    th, ph = _core.healpix.pix2ang_nest(n, p.ravel(), check_threads(threads))
    return th.reshape(p.shape), ph.reshape(p.shape)


def pix2vec_nest(nside: int, pix: Any, threads: int | None = None) -> np.ndarray:
    """Unit vectors (..., 3) of NESTED pixel centres."""
    from .. import _core

    n = check_nside(nside)
    p = _pix(n, pix)
    return _core.healpix.pix2vec_nest(n, p.ravel(), check_threads(threads)).reshape(p.shape + (3,))


def ang2pix_nest(nside: int, theta: Any, phi: Any, threads: int | None = None) -> np.ndarray:
    """NESTED pixels containing (theta, phi) radians."""
    from .. import _core

    n = check_nside(nside)
    th = as_array(theta, "theta", ndim=(0, 1), allow_empty=True)
    ph = as_array(phi, "phi", ndim=(0, 1), allow_empty=True)
    th, ph = np.broadcast_arrays(th, ph)
    if np.any((th < 0) | (th > np.pi)):
        raise InputError("argument 'theta': must be within [0, pi] radians", "theta")
    out = _core.healpix.ang2pix_nest(n, np.ascontiguousarray(th.ravel()), np.ascontiguousarray(ph.ravel()),
                                     check_threads(threads))
    return out.reshape(th.shape)


def vec2pix_nest(nside: int, vec: Any, threads: int | None = None) -> np.ndarray:
    """NESTED pixels containing the (n, 3) vectors."""
    from .. import _core

    n = check_nside(nside)
    v = as_array(vec, "vec", ndim=(1, 2))
    v2 = v.reshape(-1, 3) if v.shape[-1] == 3 else None
    if v2 is None:
        raise InputError("argument 'vec': expected shape (3,) or (n, 3)", "vec")
    out = _core.healpix.vec2pix_nest(n, v2, check_threads(threads))
    return out.reshape(v.shape[:-1])


def children_nest(nside: int, pix: int, nside_child: int) -> np.ndarray:
    """All NESTED pixels at ``nside_child`` inside ``pix`` at ``nside`` (ascending)."""
    from .. import _core

    return _core.healpix.children_nest(check_nside(nside), int(pix), check_nside(nside_child, "nside_child"))


def parent_nest(nside: int, pix: Any, nside_parent: int) -> np.ndarray:
    """NESTED pixels at ``nside_parent`` containing ``pix`` at ``nside``."""
    from .. import _core

    n = check_nside(nside)
    p = _pix(n, pix)
    return _core.healpix.parent_nest(n, p.ravel(), check_nside(nside_parent, "nside_parent")).reshape(p.shape)


def query_disc_nest(nside: int, vec: Any, radius: float) -> np.ndarray:
    """NESTED pixels whose centres are within ``radius`` radians of ``vec`` (ascending)."""
    from .. import _core

    v = as_array(vec, "vec", ndim=1)
    return _core.healpix.query_disc_nest(check_nside(nside), v, float(radius))


def max_pixrad(nside: int) -> float:
    """Upper bound (radians) of the centre-to-corner distance of a pixel at ``nside``."""
    from .. import _core

    return float(_core.healpix.max_pixrad(check_nside(nside)))
