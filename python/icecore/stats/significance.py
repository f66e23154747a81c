"""p-values <-> Gaussian significances, trials factors and false-alarm rates.

Conventions
-----------
IceCube quotes *one-sided* significances: p = P(Z > sigma) for a standard normal Z, so
p = 0.5 -> 0 sigma, p = 2.87e-7 -> 5 sigma. The two-sided convention p = erfc(sigma / sqrt 2)
(p = P(|Z| > sigma)) is available with ``sided=2``. Both are computed with scipy's
``ndtr``/``ndtri``/``ndtri_exp``, which stay accurate in the far tail: p down to 1e-300
(sigma ~ 37) and, through :func:`logp_to_sigma`, beyond.

NaN policy: NaN input raises :class:`~icecore.errors.InputError`; p = 0 maps to +inf sigma.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from .._validation import as_array
from ..errors import InputError

__all__ = [
    "p_to_sigma",
    "sigma_to_p",
    "logp_to_sigma",
    "post_trial_p",
    "far_from_p",
    "p_from_far",
    "poisson_p_from_far",
    "evidence_label",
    "Significance",
    "significance",
    "EVIDENCE_THRESHOLDS_SIGMA",
]

#: One-sided thresholds of the evidence labels (post-trial significance).
EVIDENCE_THRESHOLDS_SIGMA = {"discovery": 5.0, "strong": 3.0, "moderate": 2.0}


def _check_sided(sided: Any) -> int:
    if sided not in (1, 2) or isinstance(sided, bool):
        raise InputError(f"argument 'sided': must be 1 (one-sided) or 2 (two-sided), got {sided!r}", "sided")
    return int(sided)


def _scalar_or_array(x: np.ndarray, like: Any):
    return float(x) if np.ndim(like) == 0 else x


def p_to_sigma(p: Any, sided: int = 1):
    """Gaussian significance of a p-value.

    Parameters
    ----------
    p : float or array_like
        p-value(s) in [0, 1].
    sided : {1, 2}
        1: sigma = Phi^-1(1 - p) (IceCube's convention; p > 0.5 gives sigma < 0).
        2: sigma = sqrt(2) erfc^-1(p), i.e. p = P(|Z| > sigma) (sigma >= 0).

    Returns
    -------
    float or ndarray
        Significance in standard deviations; +inf for p = 0.
    """
    sided = _check_sided(sided)
    arr = as_array(p, "p", allow_empty=True)
    if np.any((arr < 0) | (arr > 1)):
        raise InputError("argument 'p': p-values must lie in [0, 1]", "p")
    q = arr / 2.0 if sided == 2 else arr
    with np.errstate(divide="ignore"):
        sig = -special.ndtri(q)
    return _scalar_or_array(sig, p)


def logp_to_sigma(log_p: Any, sided: int = 1):
    """Significance from the natural log of a p-value (for p below the float64 range).

    ``log_p`` must be <= 0; e.g. ``logp_to_sigma(-1000)`` = 44.6 sigma one-sided.
    """
    sided = _check_sided(sided)
    arr = as_array(log_p, "log_p", allow_empty=True)
    if np.any(arr > 0):
        raise InputError("argument 'log_p': log p-values must be <= 0", "log_p")
    y = arr - np.log(2.0) if sided == 2 else arr
    return _scalar_or_array(-special.ndtri_exp(y), log_p)


def sigma_to_p(sigma: Any, sided: int = 1):
    """p-value of a Gaussian significance (inverse of :func:`p_to_sigma`).

    Parameters
    ----------
    sigma : float or array_like
        Significance; for ``sided=2`` it must be >= 0.
    sided : {1, 2}
        1: p = P(Z > sigma) = ndtr(-sigma); 2: p = erfc(sigma / sqrt 2).
    """
    sided = _check_sided(sided)
    arr = as_array(sigma, "sigma", allow_empty=True)
    if sided == 2:
        if np.any(arr < 0):
            raise InputError("argument 'sigma': a two-sided significance must be >= 0", "sigma")
        p = special.erfc(arr / np.sqrt(2.0))
    else:
        p = special.ndtr(-arr)
    return _scalar_or_array(p, sigma)


def post_trial_p(p: Any, n_trials: Any):
    """Post-trial p-value 1 - (1 - p)^N, computed stably as -expm1(N log1p(-p)).

    Parameters
    ----------
    p : float or array_like
        Pre-trial (local) p-value(s) in [0, 1].
    n_trials : float or array_like
        Number of (effective) independent trials, >= 1; need not be an integer.

    Notes
    -----
    For p = 1e-12 and N = 1e6 the naive formula loses all digits (1 - 1e-12 rounds); this form
    returns 9.999995e-7 to full precision.
    """
    parr = as_array(p, "p", allow_empty=True)
    narr = as_array(n_trials, "n_trials", allow_empty=True)
    if np.any((parr < 0) | (parr > 1)):
        raise InputError("argument 'p': p-values must lie in [0, 1]", "p")
    if np.any(narr < 1):
        raise InputError("argument 'n_trials': must be >= 1", "n_trials")
    with np.errstate(divide="ignore"):
        out = -np.expm1(narr * np.log1p(-parr))
    out = np.where(parr == 1.0, 1.0, out)
    return _scalar_or_array(np.asarray(out, dtype=float), p if np.ndim(p) else n_trials)


def far_from_p(p: Any, trigger_rate_per_year: Any):
    """False-alarm rate (per year) of a search run ``trigger_rate_per_year`` times a year.

    The LVK-coincidence route: FAR = p x (rate of searches). E.g. p = 0.01 for a search run on
    every one of ~ 300 significant GW candidates a year gives FAR = 3 per year.
    """
    parr = as_array(p, "p", allow_empty=True)
    rate = as_array(trigger_rate_per_year, "trigger_rate_per_year", allow_empty=True)
    if np.any((parr < 0) | (parr > 1)):
        raise InputError("argument 'p': p-values must lie in [0, 1]", "p")
    if np.any(rate <= 0):
        raise InputError("argument 'trigger_rate_per_year': must be > 0", "trigger_rate_per_year")
    return _scalar_or_array(parr * rate, p)


def p_from_far(far_per_year: Any, trigger_rate_per_year: Any):
    """Inverse of :func:`far_from_p`: p = FAR / trigger rate (must come out <= 1)."""
    far = as_array(far_per_year, "far_per_year", allow_empty=True)
    rate = as_array(trigger_rate_per_year, "trigger_rate_per_year", allow_empty=True)
    if np.any(far < 0):
        raise InputError("argument 'far_per_year': must be >= 0", "far_per_year")
    if np.any(rate <= 0):
        raise InputError("argument 'trigger_rate_per_year': must be > 0", "trigger_rate_per_year")
    p = far / rate
    if np.any(p > 1):
        raise InputError("argument 'far_per_year': exceeds the trigger rate (p would be > 1)", "far_per_year")
    return _scalar_or_array(p, far_per_year)


def poisson_p_from_far(far_per_year: Any, window_years: Any):
    """Chance of at least one background event of rate FAR in a window: 1 - exp(-FAR T)."""
    far = as_array(far_per_year, "far_per_year", allow_empty=True)
    t = as_array(window_years, "window_years", allow_empty=True)
    if np.any(far < 0):
        raise InputError("argument 'far_per_year': must be >= 0", "far_per_year")
    if np.any(t < 0):
        raise InputError("argument 'window_years': must be >= 0", "window_years")
    return _scalar_or_array(-np.expm1(-far * t), far_per_year)


def evidence_label(sigma_one_sided: float) -> str:
    """'discovery' (>= 5 sigma), 'strong' (>= 3), 'moderate' (>= 2) or 'weak' (one-sided)."""
    for label, thr in EVIDENCE_THRESHOLDS_SIGMA.items():
        if sigma_one_sided >= thr:
            return label
    return "weak"


@dataclass(frozen=True)
class Significance:
    """Pre- and post-trial significance of one observation.

    Attributes
    ----------
    p_pre, p_post : float
        Pre-trial and post-trial p-values.
    sigma_pre, sigma_post : float
        Significances in the ``sided`` convention.
    n_trials : float
        Trials factor used.
    sided : int
        1 or 2.
    evidence : str
        Label from the one-sided post-trial significance (see :func:`evidence_label`).
    """

    p_pre: float
    p_post: float
    sigma_pre: float
    sigma_post: float
    n_trials: float
    sided: int
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite sigmas become the string 'inf')."""
        d = asdict(self)
        for k in ("sigma_pre", "sigma_post"):
            if not np.isfinite(d[k]):
                d[k] = "inf" if d[k] > 0 else "-inf"
        return d


def significance(p: float, n_trials: float = 1, sided: int = 1) -> Significance:
    """Pre/post-trial p-values and significances of one p-value, with the evidence label.

    Parameters
    ----------
    p : float
        Pre-trial p-value in [0, 1].
    n_trials : float
        Effective number of trials (>= 1).
    sided : {1, 2}
        Convention of the quoted sigmas. The evidence label always uses the one-sided
        post-trial significance.
    """
    if np.ndim(p) != 0 or np.ndim(n_trials) != 0:
        raise InputError("argument 'p': significance() takes a single p-value; use the array functions", "p")
    p_post = post_trial_p(p, n_trials)
    return Significance(
        p_pre=float(p),
        p_post=float(p_post),
        sigma_pre=float(p_to_sigma(p, sided)),
        sigma_post=float(p_to_sigma(p_post, sided)),
        n_trials=float(n_trials),
        sided=_check_sided(sided),
        evidence=evidence_label(float(p_to_sigma(p_post, 1))),
    )
