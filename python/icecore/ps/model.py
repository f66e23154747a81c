"""The per-season likelihood model: background PDFs from data, signal energy PDFs and acceptance
from the IRFs, and signal-event injection from the smearing matrix.

Modelling choices (the standard public-data point-source likelihood, as in SkyLLH's
``publicdata_ps.time_integrated_ps``):

* **Spatial signal PDF**: 2-d Rayleigh on the sphere with each event's AngErr as sigma,
  ``S = exp(-psi^2 / 2 sigma^2) / (2 pi sigma^2) * psi / sin(psi)`` [1/sr].
* **Spatial background PDF**: histogram of the season's data in sin(dec) (season binning, see
  :mod:`icecore.ps.binning`), normalised, its log interpolated by a quadratic spline through the bin
  centres, divided by 2 pi (uniform in RA).
* **Energy background PDF**: 2-d histogram of the data in (log10 E, sin dec), each sin(dec)
  column normalised to a density in log10 E, smoothed by a 3-bin running mean in log10 E, its
  log10 interpolated by a cubic spline in log10 E (piecewise constant in sin dec) and renormalised
  (composite 8-point Gauss-Legendre per bin; SkyLLH's single 128-point rule is ~0.4 % off).
  ``energy_smoothing="all"`` smooths every bin (SkyLLH); ``"sparse"`` only the bins with fewer
  than :data:`SPARSE_BIN_COUNT` events, where the Poisson noise (>= 10 %) exceeds the running
  mean's bias. The bias is where the density curves steeply, at the low-energy selection
  threshold: on the toy data the smoothed PDF is 5-12 % below the background at log10 E 2.3-2.6,
  where the soft-spectrum signal PDFs peak, so E_bkg[S_E / B_E] at gamma 3-4 is 1.01-1.04 and
  background trials fit soft excesses (simulation, issue #13 item 3).
* **Energy signal PDF** for a source at declination delta and index gamma: the sum over true
  energy bins j of the smearing matrix (declination bin of delta) of
  ``p_j(gamma) * P(log10 E_reco | j)`` with ``p_j ∝ sum_k A_eff(delta, k) * integral_{bin j ∩ bin k}
  E^-gamma dE`` (effective-area row of delta), each ``P(log E | j)`` a PCHIP interpolation of the
  marginal reco-energy density, resampled on the season's log-energy bin centres and interpolated
  again (PCHIP) and normalised; zero outside the bin-centre range. Tabulated on a gamma grid of
  step 0.1 (one extra point beyond each end of the fit range), interpolated by a parabola through
  the three nearest grid points, and on a fine log-energy grid (step 0.005) interpolated linearly.
* **Season shares of ns**: ``f_j = Y_j / sum Y``, ``Y_j = livetime_j * sum_k A_eff,j(delta, k)
  * integral_k E^-gamma dE`` exactly, using the effective-area declination bin that contains delta
  (:func:`icecore.ps.flux.flux_to_mu` per unit flux).
  (SkyLLH 26.1.0 interpolates a spline built on declination at sin(declination); we do not.)
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike
from scipy import interpolate

from ..errors import InputError
from .binning import season_binning
from .dataset import Season
from .flux import E0_DEFAULT, flux_to_mu, powerlaw_integral
from .irf import EffectiveArea, SmearingMatrix

__all__ = [
    "GAMMA_GRID_STEP",
    "FINE_LOGE_STEP",
    "SPARSE_BIN_COUNT",
    "ENERGY_SMOOTHINGS",
    "default_energy_smoothing",
    "SeasonModel",
    "true_energy_weights",
    "sample_signal",
    "offset_directions",
]

log = logging.getLogger(__name__)

GAMMA_GRID_STEP = 0.1
"""Step of the gamma grid on which the signal energy PDFs are tabulated."""
FINE_LOGE_STEP = 0.005
"""Step of the fine log10(E/GeV) grid of the signal energy tables."""
SPARSE_BIN_COUNT = 100
"""With ``energy_smoothing="sparse"``, background energy bins with fewer events are smoothed."""
ENERGY_SMOOTHINGS = ("all", "sparse")


def default_energy_smoothing(weighting: str, energy_smoothing: str | None = None) -> str:
    """The background energy smoothing every search uses: as given, else "all" for SkyLLH's weighting and
    "sparse" otherwise.

    The one rule behind :class:`SeasonModel`'s default, and so behind the time-integrated
    (:class:`icecore.ps.PointSourceAnalysis`, :func:`icecore.ps.sky_scan`), flare
    (:class:`icecore.ps.flare.FlareSearch`) and stacking (:class:`icecore.ps.stacking.StackingAnalysis`)
    searches alike.
    """
    if energy_smoothing is not None:
        return energy_smoothing
    return "all" if weighting == "skyllh" else "sparse"


def _pchip(x: np.ndarray, y: np.ndarray) -> interpolate.PchipInterpolator:
    return interpolate.PchipInterpolator(x, y, axis=-1, extrapolate=False)


class SeasonModel:
    """Background PDFs of one season and the tools to build signal tables and inject events.

    Parameters
    ----------
    season : Season
        Loaded season.
    gamma_grid : (G,) array
        Spectral indices at which signal energy PDFs are tabulated.
    sin_dec_edges, log_e_edges : arrays, optional
        Background histogram binnings (default: :func:`icecore.ps.binning.season_binning`).
    weighting : {"exact", "skyllh"}
        True-energy weighting of the signal energy PDF (:func:`true_energy_weights`).
    energy_smoothing : {"all", "sparse"} or None
        Which bins of the background energy histogram the 3-bin running mean smooths (module
        docstring): every bin (SkyLLH) or those with fewer than :data:`SPARSE_BIN_COUNT` events.
        None (default): :func:`default_energy_smoothing` of ``weighting`` ("sparse", or "all" with
        ``weighting="skyllh"``).
    """

    def __init__(self, season: Season, gamma_grid: np.ndarray, sin_dec_edges: np.ndarray | None = None,
                 log_e_edges: np.ndarray | None = None, weighting: str = "exact",
                 energy_smoothing: str | None = None) -> None:
        energy_smoothing = default_energy_smoothing(weighting, energy_smoothing)
        if energy_smoothing not in ENERGY_SMOOTHINGS:
            raise InputError(f"argument 'energy_smoothing': must be one of {ENERGY_SMOOTHINGS}, got "
                             f"{energy_smoothing!r}", "energy_smoothing")
        self.season = season
        self.weighting = weighting
        self.energy_smoothing = energy_smoothing
        self.name = season.name
        sd_def, le_def = season_binning(season.name, season.release)
        self.sin_dec_edges = np.asarray(sd_def if sin_dec_edges is None else sin_dec_edges, dtype=np.float64)
        self.log_e_edges = np.asarray(le_def if log_e_edges is None else log_e_edges, dtype=np.float64)
        self.gamma_grid = np.asarray(gamma_grid, dtype=np.float64)
        if len(season) == 0:
            raise InputError(f"argument 'data': season {season.name} has no events", "data")
        sin_dec = np.sin(np.radians(season.dec_deg))
        lo_e, hi_e = self.log_e_edges[0], self.log_e_edges[-1]
        out = (season.log10_e < lo_e) | (season.log10_e > hi_e)
        if out.any():
            raise InputError(
                f"argument 'data': season {season.name} has {int(out.sum())} events with log10(E/GeV) outside the "
                f"background binning [{lo_e}, {hi_e}]", "data")
        self._build_spatial_bkg(sin_dec)
        self._build_energy_bkg(season.log10_e, sin_dec)
        # fine log-energy grid of the signal tables: bin centres of the season binning
        xc = 0.5 * (self.log_e_edges[1:] + self.log_e_edges[:-1])
        self._xc = xc
        n_fine = int(np.ceil((xc[-1] - xc[0]) / FINE_LOGE_STEP)) + 1
        self.fine_x = xc[0] + FINE_LOGE_STEP * np.arange(n_fine)
        self.fine_x[-1] = min(self.fine_x[-1], xc[-1])
        self._sm_cache: dict[int, np.ndarray] = {}

    # ---------------------------------------------------------------- background
    def _build_spatial_bkg(self, sin_dec: np.ndarray) -> None:
        e = self.sin_dec_edges
        h, _ = np.histogram(sin_dec, bins=e)
        if np.any(h <= 0):
            empty = 0.5 * (e[1:] + e[:-1])[h <= 0]
            raise InputError(f"argument 'data': season {self.name} has empty sin(dec) background bins at {empty}",
                             "data")
        dens = h / h.sum() / np.diff(e)
        self._bkg_sd_spline = interpolate.InterpolatedUnivariateSpline(0.5 * (e[1:] + e[:-1]), np.log(dens), k=2)

    def bkg_spatial(self, sin_dec: np.ndarray) -> np.ndarray:
        """Background spatial PDF [1/sr] at sin(dec)."""
        return np.exp(self._bkg_sd_spline(np.asarray(sin_dec, dtype=np.float64))) / (2.0 * np.pi)

    def _build_energy_bkg(self, log_e: np.ndarray, sin_dec: np.ndarray) -> None:
        xe, ye = self.log_e_edges, self.sin_dec_edges
        counts, _, _ = np.histogram2d(log_e, sin_dec, bins=[xe, ye])
        col = counts.sum(axis=0)
        h = counts / (col[None, :] * np.diff(xe)[:, None])
        # 3-bin running mean along log10 E, normalised at the edges
        k = np.ones(3)
        norm = np.convolve(np.ones(h.shape[0]), k, mode="same")
        smooth = np.apply_along_axis(lambda c: np.convolve(c, k, mode="same"), 0, h) / norm[:, None]
        h = smooth if self.energy_smoothing == "all" else np.where(counts < SPARSE_BIN_COUNT, smooth, h)
        z = np.empty_like(h)
        pos = h > 0
        z[pos] = np.log10(h[pos])
        z[~pos] = z[pos].min() - 3.0
        xc = 0.5 * (xe[1:] + xe[:-1])
        # piecewise constant in sin(dec): one cubic interpolating spline in log10 E per column
        self._bkg_e_splines = interpolate.RectBivariateSpline(
            xc, np.arange(h.shape[1], dtype=np.float64), z, kx=3, ky=1, s=0)
        # renormalise each column over [xe0, xe-1]: composite Gauss-Legendre, 8 nodes per bin
        # (SkyLLH uses 128 nodes over the whole range, which is ~0.4 % off for 0.125-wide bins)
        gx, gw = np.polynomial.legendre.leggauss(8)
        half = 0.5 * np.diff(xe)
        qx = ((xe[:-1] + half)[:, None] + half[:, None] * gx[None, :]).ravel()
        qw = (half[:, None] * gw[None, :]).ravel()
        vals = 10.0 ** self._bkg_e_splines(qx, np.arange(h.shape[1], dtype=np.float64), grid=True)
        self._bkg_e_norm = qw @ vals

    def bkg_energy(self, log_e: np.ndarray, sin_dec: np.ndarray) -> np.ndarray:
        """Background energy PDF [1/log10(E/GeV)] at (log10 E, sin dec); 0 outside the binning."""
        log_e = np.asarray(log_e, dtype=np.float64)
        sin_dec = np.asarray(sin_dec, dtype=np.float64)
        ye = self.sin_dec_edges
        b = np.clip(np.searchsorted(ye, sin_dec, side="right") - 1, 0, len(ye) - 2)
        v = 10.0 ** self._bkg_e_splines(log_e, b.astype(np.float64), grid=False) / self._bkg_e_norm[b]
        out = (log_e < self.log_e_edges[0]) | (log_e > self.log_e_edges[-1])
        v[out] = 0.0
        return v

    def inv_bkg(self, log_e: np.ndarray, sin_dec: np.ndarray) -> np.ndarray:
        """1 / (B_spatial * B_energy), with a floor on B so the ratio stays finite."""
        b = self.bkg_spatial(sin_dec) * self.bkg_energy(log_e, sin_dec)
        return 1.0 / np.maximum(b, 1e-300)

    def energy_index(self, log_e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ebin, efrac) of log10 E on the padded fine grid (index 0 and n+1 are zero padding)."""
        x = np.asarray(log_e, dtype=np.float64)
        u = (x - self.fine_x[0]) / FINE_LOGE_STEP
        inside = (x >= self.fine_x[0]) & (x <= self.fine_x[-1])
        k = np.clip(np.floor(u).astype(np.int64), 0, len(self.fine_x) - 2)
        frac = np.clip(u - k, 0.0, 1.0)
        # position within the last partial cell
        last = k == len(self.fine_x) - 2
        if np.any(last):
            w = self.fine_x[-1] - self.fine_x[-2]
            frac[last] = np.clip((x[last] - self.fine_x[-2]) / w, 0.0, 1.0)
        ebin = np.where(inside, k + 1, 0).astype(np.int32)
        frac = np.where(inside, frac, 0.0)
        return ebin, frac

    @property
    def n_e(self) -> int:
        """Length of a padded signal-table row."""
        return len(self.fine_x) + 2

    # ---------------------------------------------------------------- signal
    def _reco_matrix(self, sm_dec: int) -> np.ndarray:
        """(n_true, n_xc) reco-energy densities of each true-energy bin on the season bin centres."""
        if sm_dec not in self._sm_cache:
            sm = self.season.smearing
            dens, lo, hi = sm.reco_energy_pdf(sm_dec)
            r = np.zeros((dens.shape[0], len(self._xc)))
            for j in range(dens.shape[0]):
                w = hi[j] - lo[j]
                ok = w > 0
                if not ok.any() or dens[j].sum() == 0:
                    continue
                c = 0.5 * (lo[j][ok] + hi[j][ok])
                if len(c) < 2:
                    continue
                v = _pchip(c, dens[j][ok])(self._xc)
                r[j] = np.nan_to_num(v, nan=0.0)
            self._sm_cache[sm_dec] = r
        return self._sm_cache[sm_dec]

    def true_energy_weights(self, dec_deg: float, gammas: ArrayLike) -> np.ndarray:
        """(G, n_true) weights p_j(gamma), see :func:`true_energy_weights`."""
        return true_energy_weights(self.season.aeff, self.season.smearing, dec_deg, gammas, self.weighting)

    def signal_energy_table(self, dec_deg: float) -> np.ndarray:
        """(G, n_e) signal energy PDF on the padded fine log-energy grid for a source at dec_deg."""
        sm_dec = self.season.smearing.dec_index(dec_deg)
        r = self._reco_matrix(sm_dec)
        p = self.true_energy_weights(dec_deg, self.gamma_grid)
        summed = p @ r  # (G, n_xc)
        spl = _pchip(self._xc, summed)
        norm = spl.integrate(self._xc[0], self._xc[-1])
        norm = np.where(norm > 0, norm, 1.0)
        vals = np.nan_to_num(spl(self.fine_x), nan=0.0) / norm[:, None]
        vals = np.maximum(vals, 0.0)
        out = np.zeros((len(self.gamma_grid), self.n_e))
        out[:, 1:-1] = vals
        return out

    def energy_class(self, dec_deg: float) -> tuple[int, int]:
        """(effective-area row, smearing dec bin) that determine the signal tables at dec_deg."""
        return int(self.season.aeff.dec_index(dec_deg)), self.season.smearing.dec_index(dec_deg)

    def acceptance(self, dec_deg: float) -> np.ndarray:
        """livetime [s] x A_eff(dec) [cm^2] per effective-area energy bin."""
        return self.season.livetime_s * self.season.aeff.row(dec_deg)

    @property
    def acc_edges_gev(self) -> tuple[np.ndarray, np.ndarray]:
        e = 10.0 ** self.season.aeff.log10_e_edges
        return e[:-1], e[1:]

    def expected_signal(self, dec_deg: float, gamma: float, phi0: float = 1.0, e0: float = E0_DEFAULT) -> float:
        """Expected events for Phi = phi0 (E/e0)^-gamma [GeV^-1 cm^-2 s^-1] from a source at dec_deg."""
        return flux_to_mu(self.season.aeff, self.season.livetime_s, dec_deg, phi0, gamma, e0)

    def sample_signal(self, rng: np.random.Generator, n: int, ra_deg: float, dec_deg: float,
                      gamma: float) -> dict[str, np.ndarray]:
        """Draw ``n`` signal events from this season's IRFs, see :func:`sample_signal`."""
        return sample_signal(self.season.aeff, self.season.smearing, rng, n, ra_deg, dec_deg, gamma)


def true_energy_weights(aeff: EffectiveArea, sm: SmearingMatrix, dec_deg: float, gammas: ArrayLike,
                        weighting: str = "exact") -> np.ndarray:
    """(G, n_true) weights p_j(gamma) of the smearing matrix's true-energy bins (rows sum to 1).

    ``weighting="exact"``: ``p_j ∝ sum_k A_eff(dec, k) * integral_{j ∩ k} E^-gamma dE``, the
    expected number of detected signal events in true-energy bin j for the binned effective area.
    ``weighting="skyllh"``: SkyLLH's approximation ``p_j ∝ P_det(j) * integral_j E^-gamma dE`` with
    ``P_det`` the integral over bin j of a linear spline through A_eff/dE at the bin centres
    (the product of bin averages rather than the average of the product).
    """
    if weighting not in ("exact", "skyllh"):
        raise InputError(f"argument 'weighting': must be 'exact' or 'skyllh', got {weighting!r}", "weighting")
    sm_dec = sm.dec_index(dec_deg)
    # true-energy bins that have reco distributions at this declination
    valid = np.any((sm.reco_hi[:, sm_dec] - sm.reco_lo[:, sm_dec]) > 0, axis=1)
    valid &= sm.frac[:, sm_dec].sum(axis=(1, 2, 3)) > 0
    te = sm.log10_e_true_edges
    a_row = aeff.row(dec_deg)
    ae = aeff.log10_e_edges
    gammas = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    p = np.zeros((len(gammas), len(te) - 1))
    if weighting == "skyllh":
        vj = np.flatnonzero(valid)
        if vj.size == 0:
            return p
        jlo, jhi = int(vj.min()), int(vj.max())
        rng_edges = 10.0 ** te[jlo:jhi + 2]
        det = _skyllh_det_prob(aeff, a_row, rng_edges)
        for gi, g in enumerate(gammas):
            fl = powerlaw_integral(rng_edges[:-1], rng_edges[1:], g)
            p[gi, jlo:jhi + 1] = fl / fl.sum() * det
        p[:, ~valid] = 0.0
    else:
        for j in np.flatnonzero(valid):
            lo = np.maximum(te[j], ae[:-1])
            hi = np.minimum(te[j + 1], ae[1:])
            ok = (hi > lo) & (a_row > 0)
            if not ok.any():
                continue
            for gi, g in enumerate(gammas):
                p[gi, j] = np.sum(a_row[ok] * powerlaw_integral(10.0 ** lo[ok], 10.0 ** hi[ok], g))
    s = p.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return p / s


def _skyllh_det_prob(aeff: EffectiveArea, a_row: np.ndarray, edges_gev: np.ndarray) -> np.ndarray:
    """Detection probabilities of energy bins as SkyLLH's ``PDAeff.get_detection_prob_for_decnu``."""
    keep = aeff.aeff_cm2.sum(axis=0) > 0
    le = aeff.log10_e_edges
    lo_all, hi_all = le[:-1][keep], le[1:][keep]
    e = 10.0 ** np.append(lo_all, hi_all[-1])
    row = a_row[keep]
    rmin, rmax = edges_gev[0], edges_gev[-1]
    lidx = 0 if rmin <= e[0] else int(np.flatnonzero((e[:-1] <= rmin) & (e[1:] > rmin))[0])
    uidx = len(e) - 1 if rmax >= e[-1] else int(np.flatnonzero((e[:-1] <= rmax) & (e[1:] > rmax))[0])
    a = row[lidx:uidx]
    ee = e[lidx:uidx + 1]
    y_in = a / np.diff(ee)
    x = np.concatenate([[ee[0]], 0.5 * (ee[1:] + ee[:-1]), [ee[-1]]])
    y = np.concatenate([[y_in[0]], y_in, [y_in[-1]]])
    spl = interpolate.splrep(x, y, k=1, s=0)
    norm = interpolate.splint(rmin, rmax, spl)
    return np.array([interpolate.splint(a0, a1, spl) for a0, a1 in zip(edges_gev[:-1], edges_gev[1:])]) / norm


def sample_signal(aeff: EffectiveArea, sm: SmearingMatrix, rng: np.random.Generator, n: int, ra_deg: float,
                  dec_deg: float, gamma: float) -> dict[str, np.ndarray]:
    """Draw ``n`` signal events of a power-law source from the IRFs.

    True energy bin from :meth:`true_energy_weights`, then a (reco energy, PSF, AngErr) cell
    from the smearing matrix's fractional counts, uniform within the cell, the reconstructed
    direction at angle PSF from the source with a uniform position angle.

    Returns
    -------
    dict with ra_deg, dec_deg, log10_e, angerr_deg.
    """
    d = sm.dec_index(dec_deg)
    p = true_energy_weights(aeff, sm, dec_deg, [gamma])[0]
    if n == 0 or p.sum() == 0:
        z = np.zeros(0)
        return {"ra_deg": z, "dec_deg": z.copy(), "log10_e": z.copy(), "angerr_deg": z.copy()}
    j = rng.choice(len(p), size=n, p=p)
    cells = sm.frac[:, d].reshape(sm.frac.shape[0], -1)
    out_cells = np.empty(n, dtype=np.int64)
    for jj in np.unique(j):
        m = j == jj
        w = cells[jj]
        out_cells[m] = rng.choice(len(w), size=int(m.sum()), p=w / w.sum())
    nr, npsi, na = sm.frac.shape[2:]
    r, rem = np.divmod(out_cells, npsi * na)
    ps, a = np.divmod(rem, na)
    u = rng.random((3, n))
    log_e = sm.reco_lo[j, d, r] + u[0] * (sm.reco_hi[j, d, r] - sm.reco_lo[j, d, r])
    # uniform in solid angle within the PSF annulus (psi^2 uniform), not uniform in psi
    p_lo, p_hi = sm.psi_lo[j, d, r, ps], sm.psi_hi[j, d, r, ps]
    psi = np.sqrt(p_lo**2 + u[1] * (p_hi**2 - p_lo**2))
    ang = sm.angerr_lo[j, d, r, ps, a] + u[2] * (sm.angerr_hi[j, d, r, ps, a] - sm.angerr_lo[j, d, r, ps, a])
    ang = np.maximum(ang, 1e-3)
    ra, dec = offset_directions(rng, ra_deg, dec_deg, psi)
    return {"ra_deg": ra, "dec_deg": dec, "log10_e": log_e, "angerr_deg": ang}


def offset_directions(rng: np.random.Generator, ra_deg: float, dec_deg: float,
                      psi_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directions at angular distance psi from (ra, dec) with uniform position angle (degrees)."""
    psi = np.radians(np.asarray(psi_deg, dtype=np.float64))
    phi = rng.uniform(0.0, 2.0 * np.pi, size=psi.shape)
    d0, a0 = np.radians(dec_deg), np.radians(ra_deg)
    sin_d = np.sin(d0) * np.cos(psi) + np.cos(d0) * np.sin(psi) * np.cos(phi)
    sin_d = np.clip(sin_d, -1.0, 1.0)
    dec = np.arcsin(sin_d)
    y = np.sin(phi) * np.sin(psi) * np.cos(d0)
    x = np.cos(psi) - np.sin(d0) * sin_d
    ra = a0 + np.arctan2(y, x)
    return np.degrees(np.mod(ra, 2.0 * np.pi)), np.degrees(dec)
