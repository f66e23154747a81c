"""LVK gravitational-wave follow-up: from a GW alert to IceCube's ``lvk_nu_track_search`` notice.

- sky maps: :func:`read_skymap` (flat or multi-order HEALPix, one representation), credible areas,
  distance posterior (:mod:`icecore.lvk.skymap`);
- alerts: :func:`parse_lvk_alert` / :func:`read_lvk_alert` (igwn.gwalert Kafka JSON, VOEvent, retraction);
- events: :func:`load_ic86_2011`, :class:`BackgroundModel`, :func:`simulate_window`;
- searches: :class:`PixelSearch` (generic TS with the GW prior and the Bayesian odds, C++ kernel),
  :class:`GenericSettings`, :class:`BayesianPriors`;
- the follow-up: :func:`run_alert_followup` (one parsed alert in, summary + product paths out: the
  stable entry point of pipelines and the service), :func:`run_followup` (the searches, a
  :class:`FollowupResult`), :func:`write_products` (notice.json, circular.txt, skymap.png,
  summary.json), :func:`followup_from_files` (what ``icecore lvk followup`` runs);
- the Kafka pipeline: :func:`listen` / :class:`LvkPipeline` (what ``icecore lvk listen`` runs;
  :mod:`icecore.lvk.pipeline`).
"""

from __future__ import annotations

from .alert import LvkAlert, parse_lvk_alert, read_lvk_alert
from .api import followup_from_files, read_events_csv, run_alert_followup
from .bayesian import BayesianPriors
from .events import (
    EVENT_DTYPE,
    BackgroundModel,
    EventSample,
    load_ic86_2011,
    make_events,
    select_window,
    simulate_window,
)
from .followup import FollowupResult, RetractionRecord, run_followup, write_products
from .pipeline import LVK_TOPICS, LvkPipeline, LvkPipelineConfig, listen
from .region import SearchRegion
from .search import GenericSettings, PixelSearch, WindowResult
from .skymap import FlatMap, SkyMap, read_skymap

__all__ = [
    "LvkAlert", "parse_lvk_alert", "read_lvk_alert", "run_alert_followup", "followup_from_files", "read_events_csv",
    "LVK_TOPICS", "LvkPipeline", "LvkPipelineConfig", "listen", "BayesianPriors",
    "EVENT_DTYPE", "BackgroundModel", "EventSample", "load_ic86_2011", "make_events", "select_window",
    "simulate_window", "FollowupResult", "RetractionRecord", "run_followup", "write_products", "SearchRegion",
    "GenericSettings", "PixelSearch", "WindowResult", "FlatMap", "SkyMap", "read_skymap",
]
