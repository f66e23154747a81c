"""File-level entry point of the follow-up (used by the CLI and pipelines)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from astropy.time import Time

from ..errors import InputError
from .alert import LvkAlert, read_lvk_alert
from .events import EVENT_DTYPE, BackgroundModel, load_ic86_2011, make_events, simulate_window
from .followup import FollowupResult, RetractionRecord, run_followup, write_products
from .skymap import read_skymap

__all__ = ["followup_from_files", "read_events_csv", "parse_time_mjd"]


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
