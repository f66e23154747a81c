"""Track likelihood of one event, LineFit and the free-direction track fit.

:class:`TrackLikelihood` is the compiled Pandel track likelihood (a
``icecore._core.scan.DirectionFitter``, so the sky scan's C++ loop accepts it). ``linefit`` is the
analytic first guess, ``fit_track`` the LineFit -> SPE -> MPE chain of an alert's preliminary
reconstruction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from .. import _core
from .._validation import as_array, as_degrees, check_positive, check_threads
from ..errors import InputError
from .event import Event
from .geometry import DetectorGeometry
from .ice import DEFAULT_ICE, IceModel

__all__ = ["TrackLikelihood", "LineFitResult", "TrackFitResult", "linefit", "fit_track", "DEFAULT_SIGMA_NS",
           "DEFAULT_LIKELIHOOD", "LIKELIHOOD_KINDS", "MINIMIZERS"]

log = logging.getLogger(__name__)

# Defaults come from the C++ LikelihoodOptions (track_llh.hpp), read once at import.
_CXX = _core.likelihood.LikelihoodOptions("mpe")
#: Gaussian jitter (ns) used when ``sigma_ns`` is not given, per mode.
DEFAULT_SIGMA_NS = {mode: float(_core.likelihood.LikelihoodOptions(mode).sigma_ns) for mode in ("spe", "mpe")}
#: Evaluations of the photon term: the exact closed form, or the cached bicubic tables.
LIKELIHOOD_KINDS = ("exact", "fast")
#: Minimisers of the per-direction vertex fit (see :class:`TrackLikelihood`).
MINIMIZERS = ("bfgs", "newton")
#: Default of :class:`TrackLikelihood` and :func:`fit_track` (the C++ default: exact).
DEFAULT_LIKELIHOOD: str = str(_CXX.likelihood)


def _ring_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 64:
        raise InputError(f"argument '{name}': expected an int in [0, 64], got {value!r}", name)
    return int(value)


def _level_seeds(value: Mapping[Any, Sequence[int]] | None) -> list[tuple[int, int, int]]:
    """``{nside: (n_ring, n_ring_near)}`` (nside keys may be JSON strings) as the C++ list."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InputError("argument 'level_seeds': expected a mapping nside -> (n_ring, n_ring_near)", "level_seeds")
    out = []
    for key, rings in value.items():
        try:
            nside = int(key)
        except (TypeError, ValueError):
            raise InputError(f"argument 'level_seeds': nside {key!r} is not an integer", "level_seeds") from None
        if nside < 1 or nside & (nside - 1):
            raise InputError(f"argument 'level_seeds': nside {nside} is not a power of two", "level_seeds")
        if isinstance(rings, (str, bytes)) or not isinstance(rings, Sequence) or len(rings) != 2:
            raise InputError(f"argument 'level_seeds': nside {nside} needs (n_ring, n_ring_near)", "level_seeds")
        out.append((nside, _ring_count(rings[0], "level_seeds"), _ring_count(rings[1], "level_seeds")))
    if len({n for n, _, _ in out}) != len(out):
        raise InputError("argument 'level_seeds': one entry per nside", "level_seeds")
    return sorted(out)


class TrackLikelihood(_core.likelihood.PandelTrackLikelihood):
    """Pandel track likelihood of one event (first hit per DOM).

    For each hit DOM, with time residual t and Pandel shape d_eff/lambda, the likelihood is
    ``(1 - f) p(t) + f / T`` with ``p`` the Gaussian-convolved Pandel pdf (SPE) or the
    first-of-n form ``n cp S**(n-1)`` (MPE, n = max(1, round(charge))), ``f = dark rate x T``
    the noise probability in the readout window T. Only hit DOMs enter.

    Defaults are those of the C++ ``LikelihoodOptions`` (``cpp/include/icecore/track_llh.hpp``,
    the one place they are written); the numbers below are quoted from there.

    Parameters
    ----------
    event : Event
    mode : {"mpe", "spe"}
    sigma_ns : float, optional
        Gaussian jitter; default :data:`DEFAULT_SIGMA_NS` of the mode (15 ns SPE, 4 ns MPE).
    noise_rate_hz : float
        DOM dark rate (default 500 Hz).
    window_ns : float
        Readout window (default 10 us).
    ice : IceModel
    n_ring, ring_radius_m : int, float
        Vertex seeds of :meth:`fit_directions`: the given seed plus ``n_ring`` points on a ring of
        this radius in the plane transverse to the track (default 6 at 150 m).
    max_iter : int
        BFGS iterations per seed (default 100).
    n_ring_near, near_m, near_ns : int, float, float
        Seeds where they matter: when the fit from the given seed ends within ``near_m`` (m,
        transverse) and ``near_ns`` of it, the seed was already good and only ``n_ring_near``
        (at most ``n_ring``) ring seeds follow. The C++ default ``n_ring_near = n_ring`` (6) is
        the full ring; the scan's default is in
        :data:`icecore.scan.likelihood_bridge.DEFAULT_FITTER_OPTIONS`.
    level_seeds : mapping nside -> (n_ring, n_ring_near), optional
        Seeds per scan level: a ``fit_batch(..., nside=...)`` at one of these nsides (the scan
        passes each batch's nside, in-process and to workers) uses these ring counts instead of
        ``n_ring`` / ``n_ring_near``; other nsides use those. Keys may be ints or strings (JSON).
    minimizer, seed_minimizer : {"bfgs", "newton"}
        Vertex-fit minimiser of the ring seeds / of the fit from the given seed (default "bfgs"
        for both). "newton": trust-region Newton with a Hessian whose photon-term second partials
        come from the tables (``optimize.hpp``; ``max_iter`` then counts evaluations). From a seed
        near the minimum it needs ~3 instead of ~12 evaluations; from far seeds it needs more
        than BFGS and ends in worse local minima (the -ln L surface of a wrong direction is
        rugged on the ns scale of the jitter). Measured in
        :data:`icecore.scan.likelihood_bridge.DEFAULT_FITTER_OPTIONS`; the scan uses BFGS.
    initial_step : float
        First BFGS step along one coordinate / first trust radius (m or ns; default 10).
    gtol, ftol : float
        Convergence of each seed's BFGS: the largest gradient component below ``gtol`` (per m,
        per ns; default 1e-3), or an iteration that improved -ln L by less than ``ftol``
        (default 1e-6).
    max_step : float
        Largest BFGS step along one coordinate, m or ns (default 500: a wrong direction's best
        vertex can be ~600 m / ~5 us from its seed; the former cap of 50 made such fits stop at
        ``max_iter``).
    geometry : DetectorGeometry, optional
    likelihood : {"exact", "fast"}
        Evaluation of the photon term: ``"exact"`` the closed form (the reference), ``"fast"``
        bicubic tables of ln cp and ln S built once per (ice model, jitter) and cached, with the
        error bound stated in ``cpp/include/icecore/pandel_table.hpp`` (per DOM term, for hits
        with t <= 6 us and nu <= 60, 2e-6 + 1e-7 |ln cp| + (n-1)(2e-6 + 1e-6 |ln S|); looser
        further out) and the exact code outside their domain.
    """

    def __init__(
        self,
        event: Event,
        mode: str = "mpe",
        *,
        sigma_ns: float | None = None,
        noise_rate_hz: float = _CXX.noise_rate_hz,
        window_ns: float = _CXX.window_ns,
        ice: IceModel | None = None,
        n_ring: int = _CXX.n_ring,
        ring_radius_m: float = _CXX.ring_radius_m,
        max_iter: int = _CXX.max_iter,
        geometry: DetectorGeometry | None = None,
        likelihood: str = DEFAULT_LIKELIHOOD,
        max_step: float = _CXX.max_step,
        n_ring_near: int = _CXX.n_ring_near,
        near_m: float = _CXX.near_m,
        near_ns: float = _CXX.near_ns,
        gtol: float = _CXX.gtol,
        ftol: float = _CXX.ftol,
        minimizer: str = str(_CXX.minimizer),
        seed_minimizer: str = str(_CXX.seed_minimizer),
        initial_step: float = _CXX.initial_step,
        level_seeds: Mapping[Any, Sequence[int]] | None = None,
    ) -> None:
        if not isinstance(event, Event):
            raise InputError(f"argument 'event': expected an Event, got {type(event).__name__}", "event")
        if mode not in DEFAULT_SIGMA_NS:
            raise InputError(f"argument 'mode': expected 'spe' or 'mpe', got {mode!r}", "mode")
        opts = _core.likelihood.LikelihoodOptions(mode)
        if sigma_ns is not None:
            opts.sigma_ns = check_positive(sigma_ns, "sigma_ns")
        opts.noise_rate_hz = check_positive(noise_rate_hz, "noise_rate_hz")
        opts.window_ns = check_positive(window_ns, "window_ns")
        opts.n_ring = _ring_count(n_ring, "n_ring")
        opts.ring_radius_m = check_positive(ring_radius_m, "ring_radius_m", allow_zero=True)
        opts.max_iter = int(check_positive(max_iter, "max_iter", integer=True))
        opts.max_step = check_positive(max_step, "max_step")
        opts.gtol = check_positive(gtol, "gtol")
        opts.ftol = check_positive(ftol, "ftol", allow_zero=True)
        opts.n_ring_near = _ring_count(n_ring_near, "n_ring_near")
        opts.near_m = check_positive(near_m, "near_m", allow_zero=True)
        opts.near_ns = check_positive(near_ns, "near_ns", allow_zero=True)
        for name, value in (("minimizer", minimizer), ("seed_minimizer", seed_minimizer)):
            if value not in MINIMIZERS:
                raise InputError(f"argument '{name}': expected one of {MINIMIZERS}, got {value!r}", name)
        opts.minimizer = minimizer
        opts.seed_minimizer = seed_minimizer
        opts.initial_step = check_positive(initial_step, "initial_step")
        opts.level_seeds = _level_seeds(level_seeds)
        if likelihood not in LIKELIHOOD_KINDS:
            raise InputError(f"argument 'likelihood': expected one of {LIKELIHOOD_KINDS}, got {likelihood!r}",
                             "likelihood")
        opts.likelihood = likelihood
        self.likelihood = likelihood
        self.event = event
        self.mode = mode
        self.options = opts
        self.sigma_ns = float(opts.sigma_ns)
        self.ice = DEFAULT_ICE if ice is None else ice
        hits = event.hit_doms(geometry)
        self.hits = hits
        super().__init__(hits["position"], hits["first_time_ns"], hits["charge_pe"], self.ice.to_params(), opts)

    def __reduce__(self):  # pragma: no cover - explicit: the compiled base cannot be pickled
        raise TypeError("TrackLikelihood cannot be pickled; ship the Event (Event.to_json) instead")

    def neg_log_likelihood(
        self, vertex: Any, zenith_deg: float, azimuth_deg: float, *, gradient: bool = False
    ) -> float | tuple[float, np.ndarray]:
        """-ln L of a track; with ``gradient=True`` also d/d(x, y, z, t, zenith_rad, azimuth_rad)."""
        v = as_array(vertex, "vertex", ndim=1)
        if v.size != 4:
            raise InputError("argument 'vertex': expected (x, y, z, t)", "vertex")
        zen = float(as_degrees(zenith_deg, "zenith_deg", ndim=0))
        azi = float(as_degrees(azimuth_deg, "azimuth_deg", ndim=0))
        f, g = self.neg_llh(v[0], v[1], v[2], v[3], np.radians(zen), np.radians(azi))
        return (f, g) if gradient else f

    def fit_directions(
        self, zenith_deg: Any, azimuth_deg: Any, seeds: Any, threads: int | None = None
    ) -> np.ndarray:
        """Vertex fit for fixed directions (the sky scan's per-pixel kernel).

        Parameters
        ----------
        zenith_deg, azimuth_deg : (n,) degrees (or scalars)
        seeds : (n, 4) or (4,) vertex seeds (x, y, z m; t ns)
        threads : int or None (all cores); results do not depend on it

        Returns
        -------
        (n,) structured array (``icecore._core.scan.FIT_RESULT_DTYPE``) with fields ``neg_llh``,
        ``vertex`` (4,), ``n_eval`` and ``status``: 0 converged, 1 BFGS iteration limit, 2 line
        search failed, 3 no finite likelihood from any seed.
        """
        zen = np.atleast_1d(as_degrees(zenith_deg, "zenith_deg", ndim=(0, 1)))
        azi = np.atleast_1d(as_degrees(azimuth_deg, "azimuth_deg", ndim=(0, 1)))
        if zen.shape != azi.shape:
            raise InputError("argument 'azimuth_deg': shape differs from zenith_deg", "azimuth_deg")
        s = as_array(seeds, "seeds", ndim=(1, 2))
        if s.ndim == 1:
            s = np.broadcast_to(s, (zen.size, s.size))
        if s.shape != (zen.size, 4):
            raise InputError(f"argument 'seeds': expected shape ({zen.size}, 4), got {s.shape}", "seeds")
        return self.fit_batch(
            np.radians(zen), np.radians(azi), np.ascontiguousarray(s, dtype=float), check_threads(threads)
        )


# ---------------------------------------------------------------------------------------------
@dataclass
class LineFitResult:
    """LineFit: zenith/azimuth (deg), a point on the track (x, y, z m, t ns) and the speed (m/ns)."""

    zenith_deg: float
    azimuth_deg: float
    vertex: np.ndarray
    speed_m_per_ns: float

    def to_dict(self) -> dict[str, Any]:
        return {"zenith_deg": self.zenith_deg, "azimuth_deg": self.azimuth_deg,
                "vertex": [float(x) for x in self.vertex], "speed_m_per_ns": self.speed_m_per_ns}


def _dir_to_angles(v: np.ndarray) -> tuple[float, float]:
    """(zenith, azimuth) in degrees of the source direction of a particle travelling along v."""
    u = -v / np.linalg.norm(v)
    zen = float(np.degrees(np.arccos(np.clip(u[2], -1.0, 1.0))))
    azi = float(np.degrees(np.arctan2(u[1], u[0])) % 360.0)
    return zen, azi


def linefit(
    event: Event, *, huber_m: float = 153.0, iterations: int = 10, geometry: DetectorGeometry | None = None
) -> LineFitResult:
    """Improved LineFit (Aartsen et al., NIM A 736 (2014) 143): least squares of the first-hit
    positions against time, ``r_i = r0 + v t_i``, re-weighted with a Huber penalty of scale
    ``huber_m`` (robust against noise and scattered hits). Charge-independent."""
    check_positive(huber_m, "huber_m")
    hits = event.hit_doms(geometry)
    r = hits["position"]
    t = hits["first_time_ns"]
    if t.size < 2:
        raise InputError("argument 'event': LineFit needs at least 2 hit DOMs", "event")
    w = np.ones_like(t)
    for _ in range(int(iterations)):
        tm = np.average(t, weights=w)
        rm = np.average(r, axis=0, weights=w)
        dt = t - tm
        var = np.sum(w * dt * dt)
        if var <= 0:
            raise InputError("argument 'event': all hits at the same time; LineFit undefined", "event")
        v = np.sum(w[:, None] * dt[:, None] * (r - rm), axis=0) / var
        res = np.linalg.norm(r - rm - np.outer(dt, v), axis=1)
        w = np.where(res <= huber_m, 1.0, huber_m / np.maximum(res, 1e-12))
    zen, azi = _dir_to_angles(v)
    return LineFitResult(zen, azi, np.array([*rm, tm]), float(np.linalg.norm(v)))


# ---------------------------------------------------------------------------------------------
@dataclass
class TrackFitResult:
    """Result of :func:`fit_track`. Angles in degrees; ``ra_deg``/``dec_deg`` are None without MJD."""

    zenith_deg: float
    azimuth_deg: float
    ra_deg: float | None
    dec_deg: float | None
    vertex: np.ndarray
    neg_llh: float
    linefit: LineFitResult
    spe: dict = field(default_factory=dict)
    mpe: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the MPE direction, vertex and -ln L, and the LineFit and SPE stages."""

        def stage(d: dict) -> dict[str, Any]:
            return {k: ([float(x) for x in v] if k == "vertex" else v) for k, v in d.items()}

        return {
            "zenith_deg": self.zenith_deg,
            "azimuth_deg": self.azimuth_deg,
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "vertex": [float(x) for x in self.vertex],
            "neg_llh": self.neg_llh,
            "linefit": self.linefit.to_dict(),
            "spe": stage(self.spe),
        }


def _tangent_basis(zen: float, azi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z, a = np.radians(zen), np.radians(azi)
    u = np.array([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])
    e1 = np.array([np.cos(z) * np.cos(a), np.cos(z) * np.sin(a), -np.sin(z)])
    e2 = np.array([-np.sin(a), np.cos(a), 0.0])
    return u, e1, e2


def _pattern(zen: float, azi: float, radii_deg=(3.0, 7.0, 14.0), n_per_ring: int = 8) -> tuple[np.ndarray, np.ndarray]:
    u, e1, e2 = _tangent_basis(zen, azi)
    dirs = [u]
    for k, r in enumerate(radii_deg):
        rr = np.radians(r)
        for j in range(n_per_ring):
            phi = 2 * np.pi * (j + 0.5 * (k % 2)) / n_per_ring
            dirs.append(np.cos(rr) * u + np.sin(rr) * (np.cos(phi) * e1 + np.sin(phi) * e2))
    d = np.array(dirs)
    zz = np.degrees(np.arccos(np.clip(d[:, 2], -1, 1)))
    aa = np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 360
    return zz, aa


def _local_fit(llh: TrackLikelihood, zen: float, azi: float, vertex: np.ndarray) -> dict[str, Any]:
    """L-BFGS over (transverse vertex a, b; time; direction in the tangent plane), analytic gradient."""
    u0, e1, e2 = _tangent_basis(zen, azi)
    p1, p2 = e1, e2  # vertex moves in the plane transverse to the starting track
    q0 = np.asarray(vertex[:3], dtype=float)
    step = 0.01  # rad per unit of the direction parameters

    def unpack(x):
        d = u0 + step * (x[3] * e1 + x[4] * e2)
        d = d / np.linalg.norm(d)
        zz = np.arccos(np.clip(d[2], -1, 1))
        aa = np.arctan2(d[1], d[0])
        q = q0 + x[0] * p1 + x[1] * p2
        return q, x[2], zz, aa, d

    def fun(x):
        q, t, zz, aa, d = unpack(x)
        f, g = llh.neg_llh(q[0], q[1], q[2], t, zz, aa)
        # chain rule for the direction: d(zen, azi)/d(x3, x4) by the analytic Jacobian
        s = np.sin(zz)
        dzen_dd = np.array([np.cos(zz) * np.cos(aa), np.cos(zz) * np.sin(aa), -s])
        dazi_dd = np.array([-np.sin(aa), np.cos(aa), 0.0]) / max(s, 1e-9)
        nd = np.linalg.norm(u0 + step * (x[3] * e1 + x[4] * e2))
        proj = (np.eye(3) - np.outer(d, d)) / nd
        dd3 = proj @ (step * e1)
        dd4 = proj @ (step * e2)
        grad = np.array([
            g[:3] @ p1,
            g[:3] @ p2,
            g[3],
            g[4] * (dzen_dd @ dd3) + g[5] * (dazi_dd @ dd3),
            g[4] * (dzen_dd @ dd4) + g[5] * (dazi_dd @ dd4),
        ])
        return f, grad

    res = optimize.minimize(fun, np.array([0.0, 0.0, float(vertex[3]), 0.0, 0.0]), jac=True, method="L-BFGS-B",
                            options={"maxiter": 300, "ftol": 1e-12, "gtol": 1e-6})
    q, t, zz, aa, _d = unpack(res.x)
    return {
        "zenith_deg": float(np.degrees(zz)),
        "azimuth_deg": float(np.degrees(aa) % 360.0),
        "vertex": np.array([*q, t]),
        "neg_llh": float(res.fun),
        "n_eval": int(res.nfev),
        "success": bool(res.success),
    }


def _stage(llh_scan: TrackLikelihood, llh_local: TrackLikelihood, zen: float, azi: float, vertex: np.ndarray,
           threads: int | None, radii=(3.0, 7.0, 14.0)) -> dict[str, Any]:
    zz, aa = _pattern(zen, azi, radii)
    out = llh_scan.fit_directions(zz, aa, vertex, threads=threads)
    i = int(np.argmin(out["neg_llh"]))
    best = _local_fit(llh_local, float(zz[i]), float(aa[i]), out["vertex"][i])
    # also polish from the starting direction: keep the better of the two
    if i != 0:
        alt = _local_fit(llh_local, float(zz[0]), float(aa[0]), out["vertex"][0])
        if alt["neg_llh"] < best["neg_llh"]:
            best = alt
    best["n_pattern"] = int(zz.size)
    return best


def fit_track(
    event: Event,
    *,
    ice: IceModel | None = None,
    threads: int | None = None,
    noise_rate_hz: float = _CXX.noise_rate_hz,
    n_ring: int = 0,
    geometry: DetectorGeometry | None = None,
    likelihood: str = DEFAULT_LIKELIHOOD,
) -> TrackFitResult:
    """Free-direction track fit: LineFit -> SPE (Pandel, 15 ns jitter) -> MPE (4 ns).

    (The jitters are :data:`DEFAULT_SIGMA_NS`; ``noise_rate_hz`` defaults to the likelihood's 500 Hz.)

    Each likelihood stage fits the vertex for a pattern of directions around the previous
    result (SPE: 1 + 3 rings of 8 directions at 3, 7 and 14 deg; MPE: 1 + 2 rings at 1 and
    2.5 deg), seeded with the previous vertex (plus ``n_ring`` seeds on a 150 m ring, default
    none), and then minimises -ln L over vertex and direction together from the best of them
    (L-BFGS with the analytic gradient).

    Returns
    -------
    TrackFitResult with local zenith/azimuth (deg) and, when the event has an MJD, ra/dec (deg,
    ICRS) from :func:`icecore.coords.icecube_to_equatorial`. ``likelihood`` ("exact" or
    "fast") is the evaluation of the photon term of every stage (see :class:`TrackLikelihood`).
    """
    lf = linefit(event, geometry=geometry)
    spe_scan = TrackLikelihood(event, "spe", ice=ice, noise_rate_hz=noise_rate_hz, n_ring=n_ring, geometry=geometry,
                               likelihood=likelihood)
    spe_local = TrackLikelihood(event, "spe", ice=ice, noise_rate_hz=noise_rate_hz, n_ring=0, geometry=geometry,
                                likelihood=likelihood)
    spe = _stage(spe_scan, spe_local, lf.zenith_deg, lf.azimuth_deg, lf.vertex, threads)
    mpe_scan = TrackLikelihood(event, "mpe", ice=ice, noise_rate_hz=noise_rate_hz, n_ring=n_ring, geometry=geometry,
                               likelihood=likelihood)
    mpe_local = TrackLikelihood(event, "mpe", ice=ice, noise_rate_hz=noise_rate_hz, n_ring=0, geometry=geometry,
                                likelihood=likelihood)
    mpe = _stage(mpe_scan, mpe_local, spe["zenith_deg"], spe["azimuth_deg"], spe["vertex"], threads, radii=(1.0, 2.5))
    ra = dec = None
    if event.mjd is not None:
        from ..coords import icecube_to_equatorial

        r, d = icecube_to_equatorial(mpe["zenith_deg"], mpe["azimuth_deg"], event.mjd)
        ra, dec = float(r), float(d)
    log.debug("fit_track: LineFit (%.2f, %.2f) SPE (%.2f, %.2f) MPE (%.2f, %.2f)", lf.zenith_deg, lf.azimuth_deg,
              spe["zenith_deg"], spe["azimuth_deg"], mpe["zenith_deg"], mpe["azimuth_deg"])
    return TrackFitResult(mpe["zenith_deg"], mpe["azimuth_deg"], ra, dec, mpe["vertex"], mpe["neg_llh"], lf, spe, mpe)
