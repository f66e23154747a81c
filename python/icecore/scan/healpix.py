"""HEALPix NESTED primitives of the sky scan (C++), with argument checks.

Angles in radians here (these mirror healpy's ``nest=True`` functions, which are the oracle in
the tests): theta is the colatitude in [0, pi], phi the longitude. For the scan's equatorial
sky, theta = 90 deg - Dec and phi = RA.

The checks here name the argument (``InputError``, a ValueError) and run before any C++; the
kernel checks the same invariants again without argument names (std::invalid_argument).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, check_positive, check_threads
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
    "MAX_SELECTED_PIXELS",
]

#: Largest selection ``query_disc_nest`` and ``children_nest`` return (2^26 pixels, 512 MiB);
#: larger requests raise ``InputError`` before any work (the kernel's own default bound).
MAX_SELECTED_PIXELS: int = int(_core.healpix.MAX_SELECTED_PIXELS)


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
    n = check_nside(nside)
    p = _pix(n, pix)
    th, ph = _core.healpix.pix2ang_nest(n, p.ravel(), check_threads(threads))
    return th.reshape(p.shape), ph.reshape(p.shape)


def pix2vec_nest(nside: int, pix: Any, threads: int | None = None) -> np.ndarray:
    """Unit vectors (..., 3) of NESTED pixel centres."""
    n = check_nside(nside)
    p = _pix(n, pix)
    return _core.healpix.pix2vec_nest(n, p.ravel(), check_threads(threads)).reshape(p.shape + (3,))


def ang2pix_nest(nside: int, theta: Any, phi: Any, threads: int | None = None) -> np.ndarray:
    """NESTED pixels containing (theta, phi) radians."""
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
    n = check_nside(nside)
    v = as_array(vec, "vec", ndim=(1, 2))
    v2 = v.reshape(-1, 3) if v.shape[-1] == 3 else None
    if v2 is None:
        raise InputError("argument 'vec': expected shape (3,) or (n, 3)", "vec")
    if np.any(~v2.any(axis=1)):
        raise InputError("argument 'vec': contains a zero vector", "vec")
    out = _core.healpix.vec2pix_nest(n, v2, check_threads(threads))
    return out.reshape(v.shape[:-1])


def _check_max_pixels(max_pixels: Any) -> int:
    m = int(check_positive(max_pixels, "max_pixels", integer=True))
    if m > MAX_SELECTED_PIXELS:
        raise InputError(f"argument 'max_pixels': must be <= {MAX_SELECTED_PIXELS}, got {m}", "max_pixels")
    return m


def children_nest(nside: int, pix: int, nside_child: int, *, max_pixels: int = MAX_SELECTED_PIXELS) -> np.ndarray:
    """All NESTED pixels at ``nside_child`` inside ``pix`` at ``nside`` (ascending).

    ``InputError`` if there are more than ``max_pixels`` (4^(log2 nside_child - log2 nside)).
    """
    n, nc = check_nside(nside), check_nside(nside_child, "nside_child")
    if nc < n:
        raise InputError(f"argument 'nside_child': must be >= nside ({n}), got {nc}", "nside_child")
    m = _check_max_pixels(max_pixels)
    count = (nc // n) ** 2
    if count > m:
        raise InputError(f"argument 'nside_child': {count} children of an nside-{n} pixel exceed "
                         f"max_pixels={m}", "nside_child")
    p = int(_pix(n, pix))
    return _core.healpix.children_nest(n, p, nc, m)


def parent_nest(nside: int, pix: Any, nside_parent: int) -> np.ndarray:
    """NESTED pixels at ``nside_parent`` containing ``pix`` at ``nside``."""
    n, npar = check_nside(nside), check_nside(nside_parent, "nside_parent")
    if npar > n:
        raise InputError(f"argument 'nside_parent': must be <= nside ({n}), got {npar}", "nside_parent")
    p = _pix(n, pix)
    return _core.healpix.parent_nest(n, p.ravel(), npar).reshape(p.shape)


def query_disc_nest(nside: int, vec: Any, radius: float, *, max_pixels: int = MAX_SELECTED_PIXELS) -> np.ndarray:
    """NESTED pixels whose centres are within ``radius`` radians of ``vec`` (ascending).

    ``vec`` may have any finite non-zero length; a radius above pi is the whole sphere. The
    output is bounded: ``InputError`` (naming ``radius``) before any work if the disc may hold
    more than ``max_pixels`` pixels (at nside 8192 the whole sky is 805 M pixels).
    """
    n = check_nside(nside)
    v = as_array(vec, "vec", ndim=1)
    if v.shape != (3,) or not v.any():
        raise InputError("argument 'vec': expected a non-zero 3-vector", "vec")
    r = float(check_positive(radius, "radius", allow_zero=True))
    m = _check_max_pixels(max_pixels)
    bound = float(_core.healpix.query_disc_bound(n, r))
    if bound > m:
        raise InputError(f"argument 'radius': a disc of {r:g} rad at nside {n} may select up to {bound:.0f} "
                         f"pixels, more than max_pixels={m}", "radius")
    return _core.healpix.query_disc_nest(n, v, r, m)


def max_pixrad(nside: int) -> float:
    """Upper bound (radians) of the centre-to-corner distance of a pixel at ``nside``."""
    return float(_core.healpix.max_pixrad(check_nside(nside)))
