"""Photon arrival-time (Pandel) likelihood of muon tracks.

- distributions: :func:`pandel_pdf`, :func:`pandel_sf`, :func:`cpandel_pdf`, :func:`cpandel_sf`,
  :func:`mpe_pdf` (C++; ``ice=`` an :class:`IceModel`)
- geometry: :func:`load_geometry` (shipped IC86 DOM table), :func:`track_geometry`
- events: :class:`Event` (``icecore.likelihood.event``), :func:`simulate_track`
  (``icecore.likelihood.simulate``)
- fits: :class:`TrackLikelihood` (a ``DirectionFitter`` for the sky scan), :func:`linefit`,
  :func:`fit_track`
"""

from __future__ import annotations

from .event import Event
from .fit import LineFitResult, TrackFitResult, TrackLikelihood, fit_track, linefit
from .geometry import DetectorGeometry, direction_vector, load_geometry, track_geometry
from .ice import DEFAULT_ICE, IceModel
from .pandel import cpandel_pdf, cpandel_sf, mpe_pdf, pandel_log_eval, pandel_pdf, pandel_sf
from .simulate import simulate_track

__all__ = [
    "IceModel",
    "DEFAULT_ICE",
    "pandel_pdf",
    "pandel_sf",
    "cpandel_pdf",
    "cpandel_sf",
    "mpe_pdf",
    "pandel_log_eval",
    "DetectorGeometry",
    "load_geometry",
    "track_geometry",
    "direction_vector",
    "Event",
    "simulate_track",
    "TrackLikelihood",
    "LineFitResult",
    "TrackFitResult",
    "linefit",
    "fit_track",
]
