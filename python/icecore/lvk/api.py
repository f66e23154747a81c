"""Entry points of the follow-up: one parsed alert in, products out (:func:`run_alert_followup`, used
by the Kafka pipeline and the service), and the file-level form the CLI uses (:func:`followup_from_files`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np
from astropy.time import Time

from ..errors import InputError
from .alert import LvkAlert, parse_lvk_alert, read_lvk_alert
from .bayesian import BayesianPriors
from .events import EVENT_DTYPE, BackgroundModel, EventSample, load_ic86_2011, make_events, simulate_window
from .followup import FollowupResult, RetractionRecord, run_followup, write_products
from .search import GenericSettings
from .skymap import SkyMap, read_skymap

__all__ = ["run_alert_followup", "followup_from_files", "read_events_csv", "parse_time_mjd", "EventsSource"]

#: Where the neutrino events of a follow-up come from: an EVENT_DTYPE array, a CSV file (see
#: :func:`read_events_csv`), or ``events(alert) -> array`` (e.g. a realtime event stream's query).
EventsSource = Union[np.ndarray, str, "os.PathLike[str]", Callable[[LvkAlert], np.ndarray]]


def _as_alert(alert: Any, skymap: Any) -> LvkAlert:
    """An LvkAlert from an LvkAlert, a raw message (bytes / str / igwn.gwalert dict), a to_dict record or a file."""
    if isinstance(alert, LvkAlert):
        return alert
    sky_bytes = bytes(skymap) if isinstance(skymap, (bytes, bytearray)) else None
    if isinstance(alert, Mapping) and "has_skymap" in alert:  # an LvkAlert.to_dict() record
        if sky_bytes is None and isinstance(skymap, (str, os.PathLike)):
            sky_bytes = Path(skymap).read_bytes()
        return LvkAlert.from_record(dict(alert), skymap_bytes=sky_bytes)
    if isinstance(alert, os.PathLike):
        return read_lvk_alert(alert, skymap=skymap if isinstance(skymap, (str, os.PathLike)) else None)
    if isinstance(alert, (bytes, bytearray, str, Mapping)):
        msg: bytes | str | dict[str, Any] = dict(alert) if isinstance(alert, Mapping) else \
            (bytes(alert) if isinstance(alert, bytearray) else alert)
        a = parse_lvk_alert(msg,
                            skymap=skymap if isinstance(skymap, (str, os.PathLike)) else None)
        if sky_bytes is not None and a.skymap_bytes is None:
            import dataclasses

            a = dataclasses.replace(a, skymap_bytes=bytes(sky_bytes))
        return a
    raise InputError(f"argument 'alert': expected an LvkAlert, an LVK message or record, got {type(alert).__name__}",
                     "alert")


def _events_for(events: Any, alert: LvkAlert) -> np.ndarray:
    if events is None:
        raise InputError("argument 'events': the neutrino events of the window are needed (an EVENT_DTYPE array, "
                         "a CSV file or a callable(alert))", "events")
    if callable(events):
        ev = events(alert)
    elif isinstance(events, (str, os.PathLike)):
        ev = read_events_csv(events)
    else:
        ev = events
    ev = np.asarray(ev)
    if ev.dtype != EVENT_DTYPE:
        names = ev.dtype.names or ()
        missing = [n for n in ("time_mjd", "ra_deg", "dec_deg", "sigma_deg", "log10_e") if n not in names]
        if missing:
            raise InputError(f"argument 'events': missing fields {missing} (see icecore.lvk.EVENT_DTYPE)", "events")
        ev = make_events(ev["time_mjd"], ev["ra_deg"], ev["dec_deg"], ev["sigma_deg"], ev["log10_e"],
                         run_id=ev["run_id"] if "run_id" in names else None,
                         event_id=ev["event_id"] if "event_id" in names else None)
    return ev


def run_alert_followup(alert: Any, *, events: EventsSource | None = None, out_dir: str | os.PathLike[str],
                       sample: EventSample | str | os.PathLike[str] | None = None,
                       background: BackgroundModel | None = None, skymap: SkyMap | bytes | str | None = None,
                       trials: int = 10_000, single_trials: int = 2_000, seed: int = 0, nside: int = 256,
                       threads: int | None = None, plot: bool = True, settings: GenericSettings | None = None,
                       priors: BayesianPriors | None = None,
                       progress: bool | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run the LVK follow-up of one alert and write its products: the one-call entry point.

    This is the stable entry point for pipelines and the service (its signature is kept stable:
    new options only as new keyword arguments with defaults).

    Parameters
    ----------
    alert : LvkAlert, bytes, str, dict or path-like
        The GW alert: an :class:`~icecore.lvk.LvkAlert` (e.g. from :func:`~icecore.lvk.parse_lvk_alert`),
        a raw igwn.gwalert message (bytes/str JSON, or its decoded dict) or LVK VOEvent, an
        ``LvkAlert.to_dict()`` record (its sky map then comes from ``skymap``), or an alert file
        (``pathlib.Path``).
    events : EVENT_DTYPE array, CSV path or callable, optional
        The neutrino events (all of them: the +-500 s window is selected here); ``events(alert)``
        is called with the parsed alert. Not needed for a retraction.
    out_dir : path
        Folder of the products (created).
    sample : EventSample or path, optional
        Background sample (rates, PDFs, trials): an :class:`~icecore.lvk.EventSample` or the folder
        of the IC86-2011 point-source release. Not needed for a retraction.
    background : BackgroundModel, optional
        A prepared background model of ``sample`` (saves rebuilding it per alert).
    skymap : SkyMap, bytes or path, optional
        Overrides (or supplies) the alert's sky map: a :class:`~icecore.lvk.SkyMap`, FITS bytes, or a
        FITS file / the folder holding the file a VOEvent's URL names.
    trials, single_trials : int
        Background trials of the window (Poisson N) and of single events (per-event p-values).
    seed : int
        Seed of the trials: same seed, same result whatever ``threads``.
    nside : int
        Search resolution (NESTED HEALPix).
    threads : int, optional
        Kernel threads (default all cores).
    plot : bool
        Write ``skymap.png`` (needs matplotlib).
    settings, priors : optional
        :class:`~icecore.lvk.GenericSettings` and :class:`~icecore.lvk.BayesianPriors` (documented defaults).
    progress : bool, optional
        Progress of the trials (bar on a terminal, batch-log lines otherwise; False: none).

    Returns
    -------
    summary : dict
        The content of ``summary.json``: for a search ``status="searched"``, ``superevent_id``,
        ``alert``, ``generic`` (ts, ns, gamma, pval, most_probable_direction_deg), ``bayesian``
        (mean_likelihood_ratio, odds_ratio, pval, p_astro, priors), ``coincident_events``,
        ``upper_limits``, ``n_trials``, ``area90_deg2``, ``nside``, ``files``; for a retraction
        ``status="retracted"``, ``superevent_id``, ``notice_time``, ``search_run=False``.
    paths : dict of str to Path
        Products written: ``notice`` (notice.json, the ``lvk_nu_track_search`` notice), ``text``
        (circular.txt), ``plot`` (skymap.png, when plotted), ``summary`` (summary.json, written
        last); for a retraction ``retraction`` and ``summary``.

    Raises
    ------
    InputError, ParseError, DataFormatError
        Bad alert, events, sample or sky map (e.g. an alert without a sky map at hand).
    """
    a = _as_alert(alert, skymap)
    if a.retracted:
        rec = RetractionRecord(a.superevent_id, a.notice_time_iso)  # what run_followup returns: no search
        paths = write_products(rec, out_dir)
        return rec.to_dict(), paths
    if sample is None:
        raise InputError("argument 'sample': a background sample (EventSample or the IC86-2011 release folder) "
                         "is needed", "sample")
    samp = sample if isinstance(sample, EventSample) else load_ic86_2011(sample)
    bg = background if background is not None else BackgroundModel(samp)
    smap: SkyMap | None = None
    if isinstance(skymap, SkyMap):
        smap = skymap
    elif skymap is not None and a.skymap_bytes is None and isinstance(skymap, (str, os.PathLike)) \
            and Path(skymap).is_file():
        smap = read_skymap(skymap)
    ev = _events_for(events, a)
    res = run_followup(a, ev, samp, skymap=smap, background=bg, nside=nside, n_trials=trials,
                       n_single_trials=single_trials, seed=seed, threads=threads, settings=settings, priors=priors,
                       progress=progress)
    paths = write_products(res, out_dir, plot=plot)
    if not isinstance(res, FollowupResult):  # never: the alert is not a retraction
        raise InputError(f"{a.superevent_id}: the follow-up returned no search result", "alert")
    summary: dict[str, Any] = res.summary()
    summary["files"] = {k: v.name for k, v in paths.items() if k != "summary"}
    return summary, paths


def parse_time_mjd(text: str) -> float:
    """An ISO UTC time or an MJD number as MJD (UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(Time(text.rstrip("Z"), scale="utc").mjd)
    except ValueError as exc:
        raise InputError(f"argument 'time': not an ISO time or MJD ({exc})", "time") from None


def read_events_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """Events from a CSV with a header naming the :data:`EVENT_DTYPE` columns (run_id/event_id optional)."""
    data = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    names = data.dtype.names or ()
    need = ("time_mjd", "ra_deg", "dec_deg", "sigma_deg", "log10_e")
    missing = [n for n in need if n not in names]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (have {list(names)})", "events")
    data = np.atleast_1d(data)
    return make_events(data["time_mjd"], data["ra_deg"], data["dec_deg"], data["sigma_deg"], data["log10_e"],
                       run_id=data["run_id"] if "run_id" in names else None,
                       event_id=data["event_id"] if "event_id" in names else None)


def _is_fits(path: Path) -> bool:
    head = path.read_bytes()[:6]
    return head.startswith(b"SIMPLE") or head[:2] == b"\x1f\x8b"


def followup_from_files(alert_or_map: str | os.PathLike[str], *, background: str | os.PathLike[str],
                        out_dir: str | os.PathLike[str], time: str | None = None, superevent: str = "S000000a",
                        skymap: str | None = None, events: str | None = None, simulate: int | None = None,
                        plot: bool = True, **kwargs: Any) -> tuple[FollowupResult | RetractionRecord, dict[str, Path]]:
    """Read the alert (or bare map), events and background sample; run and write the follow-up."""
    path = Path(alert_or_map)
    smap = None
    if _is_fits(path):
        if time is None:
            raise InputError("argument 'time': needed with a bare sky map", "time")
        smap = read_skymap(path)
        alert = LvkAlert(superevent_id=superevent, alert_type="preliminary", time_mjd=parse_time_mjd(time),
                         source_format="skymap")
    else:
        alert = read_lvk_alert(path, skymap=skymap)
        if time is not None and not alert.retracted:
            import dataclasses

            alert = dataclasses.replace(alert, time_mjd=parse_time_mjd(time))
    if alert.retracted:
        rec = run_followup(alert, np.zeros(0, dtype=EVENT_DTYPE), None)  # type: ignore[arg-type]
        return rec, write_products(rec, out_dir)
    sample = load_ic86_2011(background)
    bg = BackgroundModel(sample)
    if smap is None:
        smap = alert.skymap()
    if events is not None:
        ev = read_events_csv(events)
    elif simulate is not None:
        assert alert.time_mjd is not None
        ev = simulate_window(sample, alert.time_mjd, seed=kwargs.get("seed", 0), n_signal=simulate,
                             source_deg=smap.max_direction_deg(), background=bg)
    else:
        raise InputError("give --events FILE or --simulate N_SIGNAL", "events")
    res = run_followup(alert, ev, sample, skymap=smap, background=bg, **kwargs)
    return res, write_products(res, out_dir, plot=plot)
