"""Statistics shared by the alerts, the sky scan and the point-source search.

- significances: :func:`p_to_sigma`, :func:`sigma_to_p`, :func:`logp_to_sigma`
- trials: :func:`post_trial_p`, :func:`significance`, :func:`effective_trials`
- false-alarm rates: :func:`far_from_p`, :func:`p_from_far`, :func:`poisson_p_from_far`
- background TS distributions: :class:`BackgroundTS`
"""

from __future__ import annotations

from .background import BackgroundTS, TailEstimate, effective_trials
from .significance import (
    EVIDENCE_THRESHOLDS_SIGMA,
    Significance,
    evidence_label,
    far_from_p,
    logp_to_sigma,
    p_from_far,
    p_to_sigma,
    poisson_p_from_far,
    post_trial_p,
    sigma_to_p,
    significance,
)

__all__ = [
    "BackgroundTS",
    "TailEstimate",
    "effective_trials",
    "EVIDENCE_THRESHOLDS_SIGMA",
    "Significance",
    "evidence_label",
    "far_from_p",
    "logp_to_sigma",
    "p_from_far",
    "p_to_sigma",
    "poisson_p_from_far",
    "post_trial_p",
    "sigma_to_p",
    "significance",
]
