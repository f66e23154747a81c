"""Pandel photon arrival-time distributions (vectorised, evaluated in C++).

``t`` is the time residual in ns (arrival time minus the direct-light time), ``d`` the distance
entering the Pandel shape ``xi = d / lambda`` (m; pass an effective distance, see
:meth:`IceModel.effective_distance`, to include the PMT orientation), ``sigma`` the Gaussian
jitter (ns) and ``n`` the number of photons of the MPE form. Inputs broadcast against each
other. NaN policy: NaN or infinite inputs raise :class:`~icecore.errors.InputError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, check_threads
from ..errors import InputError
from .ice import DEFAULT_ICE, IceModel

__all__ = ["pandel_pdf", "pandel_sf", "cpandel_pdf", "cpandel_sf", "mpe_pdf", "pandel_log_eval"]

_KINDS = {"pandel_pdf": 0, "pandel_sf": 1, "cpandel_pdf": 2, "cpandel_sf": 3, "mpe_pdf": 4}


def pandel_log_eval(
    kind: str,
    t: Any,
    d: Any,
    sigma: Any = 1.0,
    n: Any = 1.0,
    *,
    ice: IceModel | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln f and its partial derivatives for one of the distributions.

    Parameters
    ----------
    kind : {"pandel_pdf", "pandel_sf", "cpandel_pdf", "cpandel_sf", "mpe_pdf"}
    t, d, sigma, n : array_like
        Time residual (ns), distance (m), jitter (ns, one value), photon count (>= 1).
    ice : IceModel, optional
    threads : int or None

    Returns
    -------
    (log_f, dlog_f_dd, dlog_f_dt) : ndarrays of the broadcast shape; derivatives per m and per ns.
    """
    if kind not in _KINDS:
        raise InputError(f"argument 'kind': expected one of {sorted(_KINDS)}, got {kind!r}", "kind")
    ice = DEFAULT_ICE if ice is None else ice
    if not isinstance(ice, IceModel):
        raise InputError("argument 'ice': expected an IceModel", "ice")
    ta = as_array(t, "t", allow_empty=True)
    da = as_array(d, "d", allow_empty=True)
    if np.any(da <= 0):
        raise InputError("argument 'd': distances must be > 0 m", "d")
    sa = as_array(sigma, "sigma", ndim=0) if np.ndim(sigma) == 0 else None
    if sa is None:
        raise InputError("argument 'sigma': expected one number (ns)", "sigma")
    s = float(sa)
    if s <= 0:
        raise InputError(f"argument 'sigma': must be > 0 ns, got {s}", "sigma")
    na = as_array(n, "n", allow_empty=True)
    if np.any(na < 1):
        raise InputError("argument 'n': photon counts must be >= 1", "n")
    tb, db, nb = np.broadcast_arrays(ta, da, na)
    shape = tb.shape
    nu = np.ascontiguousarray(db, dtype=float).ravel() / ice.scattering_m
    val, dnu, dt = _core.likelihood.pandel_eval(
        _KINDS[kind],
        np.ascontiguousarray(tb, dtype=float).ravel(),
        nu,
        ice.rho,
        s,
        np.ascontiguousarray(nb, dtype=float).ravel(),
        check_threads(threads),
    )
    return val.reshape(shape), (dnu / ice.scattering_m).reshape(shape), dt.reshape(shape)


def _value(kind: str, t, d, sigma=1.0, n=1.0, ice=None, threads=None) -> np.ndarray:
    v = np.exp(pandel_log_eval(kind, t, d, sigma, n, ice=ice, threads=threads)[0])
    return v if v.ndim else v[()]


def pandel_pdf(t: Any, d: Any, *, ice: IceModel | None = None, threads: int | None = None) -> np.ndarray:
    """Pandel pdf (1/ns): Gamma(shape d/lambda, rate rho) in t; 0 for t <= 0."""
    return _value("pandel_pdf", t, d, ice=ice, threads=threads)


def pandel_sf(t: Any, d: Any, *, ice: IceModel | None = None, threads: int | None = None) -> np.ndarray:
    """Pandel survival function P(T > t); 1 for t <= 0."""
    return _value("pandel_sf", t, d, ice=ice, threads=threads)


def cpandel_pdf(t: Any, d: Any, sigma: float, *, ice: IceModel | None = None, threads: int | None = None) -> np.ndarray:
    """Pandel pdf convolved with a Gaussian of width ``sigma`` ns (exact, parabolic-cylinder form)."""
    return _value("cpandel_pdf", t, d, sigma, ice=ice, threads=threads)


def cpandel_sf(t: Any, d: Any, sigma: float, *, ice: IceModel | None = None, threads: int | None = None) -> np.ndarray:
    """Survival function of the convolved Pandel, P(T + G > t)."""
    return _value("cpandel_sf", t, d, sigma, ice=ice, threads=threads)


def mpe_pdf(
    t: Any, d: Any, sigma: float, n: Any, *, ice: IceModel | None = None, threads: int | None = None
) -> np.ndarray:
    """Pdf of the first of ``n`` photons: ``n cpandel_pdf * cpandel_sf**(n-1)`` (1/ns)."""
    return _value("mpe_pdf", t, d, sigma, n, ice=ice, threads=threads)
