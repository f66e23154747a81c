"""The radio orientation chain: waveforms -> noise table -> orientations.

:func:`process` cleans every channel (copy comparison, spikes, MSB flips; C++), applies the
inverted spectrum filter per calendar month and the band-pass (numpy/scipy) and measures the
RMS amplitude and RMS spread (C++) of every event. :func:`orient` applies the (RMS, spread) cut,
fits the GC-azimuth sinusoid per month and channel, combines the months and checks each antenna.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._progress import progress_bar
from .._validation import check_positive, check_threads
from ..errors import FitError, InputError
from .cleaning import clean_events
from .cuts import RmsCut, apply_cut, choose_cut
from .galactic import gc_azimuth
from .io import NoiseTable, RadioData
from .orientation import SinusoidFit, YearlyEstimate, check_antenna, combine_axial, fit_sinusoid, month_labels
from .rms import rms_spread
from .spectral import filter_traces

__all__ = ["process", "orient", "OrientationResult"]

log = logging.getLogger(__name__)


def process(
    data: RadioData,
    *,
    band_mhz: tuple[float, float] | None = (150.0, 170.0),
    isf_passes: int = 1,
    median_width_mhz: float = 31.0,
    window: int = 120,
    n_smallest: int = 10,
    amp_k: float = 6.0,
    jump_k: float = 6.0,
    keep_k: float = 5.0,
    max_spikes: int = 5,
    use_forest: bool = False,
    seed: Any = 0,
    threads: int | None = None,
    progress: bool | None = None,
) -> NoiseTable:
    """Clean, filter and measure the noise level of every event of every channel.

    Parameters
    ----------
    data : RadioData
    band_mhz, isf_passes, median_width_mhz : see :func:`~icecore.radio.spectral.filter_traces`
        (the inverted spectrum filter's average spectrum is taken per channel and calendar month).
    window, n_smallest : see :func:`~icecore.radio.rms.rms_spread` (copies combined).
    amp_k, jump_k, keep_k, max_spikes, use_forest, seed : see
        :func:`~icecore.radio.cleaning.clean_events`.
    threads : kernel threads (None = all cores); progress : tqdm bar per channel.

    Returns
    -------
    NoiseTable
    """
    nthreads = check_threads(threads)
    months = month_labels(data.times_mjd)
    _, groups = np.unique(months, return_inverse=True)
    shape = (data.n_channels, data.n_events)
    rms = np.empty(shape)
    spread = np.empty(shape)
    rejected = np.empty(shape, dtype=bool)
    counts = {k: np.empty(shape, dtype=np.int32) for k in ("n_spikes", "n_flipped", "n_replaced", "n_copy_repaired")}
    for ch in progress_bar(range(data.n_channels), progress=progress, desc="radio channels"):
        res = clean_events(data.traces[ch], adc_bits=data.adc_bits, amp_k=amp_k, jump_k=jump_k, keep_k=keep_k,
                           max_spikes=max_spikes, use_forest=use_forest, seed=seed, threads=nthreads)
        filt = filter_traces(res.traces, data.sampling_rate_hz, groups=groups, passes=isf_passes,
                             median_width_mhz=median_width_mhz, band_mhz=band_mhz,
                             workers=nthreads or None)
        rms[ch], spread[ch] = rms_spread(filt, window, n_smallest, combine_copies=True, threads=nthreads)
        rejected[ch] = res.rejected
        counts["n_spikes"][ch] = res.n_spikes
        counts["n_flipped"][ch] = res.n_flipped
        counts["n_replaced"][ch] = res.n_replaced
        counts["n_copy_repaired"][ch] = res.n_copy_repaired
        log.info("channel %s: %s", data.channel_label(ch), res.summary())
    meta = dict(band_mhz=list(band_mhz) if band_mhz else None, isf_passes=isf_passes,
                median_width_mhz=median_width_mhz, window=window, n_smallest=n_smallest, amp_k=amp_k,
                jump_k=jump_k, keep_k=keep_k, max_spikes=max_spikes, use_forest=use_forest,
                sampling_rate_hz=data.sampling_rate_hz, adc_bits=data.adc_bits, station=data.station)
    return NoiseTable(times_mjd=data.times_mjd.copy(), antenna=data.antenna.copy(),
                      polarisation=data.polarisation.copy(), rms=rms, spread=spread, rejected=rejected, meta=meta,
                      **counts)


@dataclass
class OrientationResult:
    """Output of :func:`orient` (angles in degrees, IceCube azimuth convention, axial [0, 180)).

    Attributes
    ----------
    monthly : dict channel label -> dict month -> SinusoidFit
    yearly : dict channel label -> YearlyEstimate (combination of the usable months)
    antennas : dict antenna id -> check dict (perpendicularity, swapped, GPS comparison)
    cut_report : what the (RMS, spread) cut removed, and the cut itself
    outlier_fraction : dict month -> outlier fraction (automatic cut only)
    """

    monthly: dict
    yearly: dict
    antennas: dict
    cut_report: dict
    outlier_fraction: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "monthly": {ch: {m: {k: v for k, v in vars(f).items() if k != "cov"} | {"significance": f.significance}
                             for m, f in months.items()} for ch, months in self.monthly.items()},
            "yearly": {ch: y.to_dict() for ch, y in self.yearly.items()},
            "antennas": {str(a): v for a, v in self.antennas.items()},
            "cut": self.cut_report,
            "outlier_fraction": self.outlier_fraction,
            "skipped": self.skipped,
        }


def orient(
    table: NoiseTable,
    *,
    cut: RmsCut | tuple[float, float, float] | None = None,
    cut_k: float = 5.0,
    gps_deg: float | Mapping[int, float] | None = None,
    gps_sigma_deg: float = 0.5,
    min_events: int = 50,
    min_significance: float = 3.0,
    progress: bool | None = None,
) -> OrientationResult:
    """Monthly and yearly arm orientations from a noise table.

    Parameters
    ----------
    table : NoiseTable (one or more months)
    cut : RmsCut, (rms_min, rms_max, spread_max) or None
        None chooses the cut from the cleanest month (``cut_k`` robust sigmas wide).
    gps_deg : float or {antenna id: degrees}, optional
        Surveyed orientation of the polarisation-0 arm(s), for comparison and the swapped-cable flag.
    gps_sigma_deg : float
        Uncertainty of the GPS orientation.
    min_events : int
        Months of a channel with fewer events after cuts are not fitted.
    min_significance : float
        Monthly fits whose modulation amplitude is below this many sigma are not combined
        (their angle is undefined); they are listed in ``skipped``.
    progress : bool or None
        Progress of the channel x month fits (:func:`icecore._progress.progress_bar`: a bar on a
        terminal, batch-log lines otherwise; False silences it).
    """
    check_positive(cut_k, "cut_k")
    months = month_labels(table.times_mjd)
    usable = ~table.rejected
    labels = [table.channel_label(ch) for ch in range(table.n_channels)]
    frac: dict[str, float] = {}
    if cut is None:
        cut, frac = choose_cut(table.rms, table.spread, months, usable, k=cut_k)
    elif not isinstance(cut, RmsCut):
        if len(cut) != 3:
            raise InputError("argument 'cut': expected (rms_min, rms_max, spread_max)", "cut")
        cut = RmsCut(float(cut[0]), float(cut[1]), float(cut[2]))
    keep, report = apply_cut(cut, table.rms, table.spread, months, usable, labels)
    report["rejected_by_cleaning"] = {label: int(table.rejected[ch].sum()) for ch, label in enumerate(labels)}
    az = gc_azimuth(table.times_mjd)
    monthly: dict[str, dict[str, SinusoidFit]] = {}
    yearly: dict[str, YearlyEstimate] = {}
    skipped: dict[str, dict[str, str]] = {}
    month_list = np.unique(months)
    with progress_bar(total=len(labels) * len(month_list), progress=progress, desc="radio months",
                      unit="month") as bar:
        for ch, label in enumerate(labels):
            monthly[label], skipped[label] = {}, {}
            for m in month_list:
                sel = keep[ch] & (months == m)
                if sel.sum() < min_events:
                    skipped[label][str(m)] = f"{int(sel.sum())} events < min_events {min_events}"
                    continue
                try:
                    fit = fit_sinusoid(az[sel], table.rms[ch, sel])
                except FitError as exc:
                    skipped[label][str(m)] = str(exc)
                    continue
                monthly[label][str(m)] = fit
            bar.update(len(month_list))
            good = {m: f for m, f in monthly[label].items() if f.significance >= min_significance}
            for m in set(monthly[label]) - set(good):
                sig = monthly[label][m].significance
                skipped[label][m] = f"modulation significance {sig:.2f} < {min_significance}"
            if good:
                ms = sorted(good)
                yearly[label] = combine_axial([good[m].arm_deg for m in ms], [good[m].sigma_deg for m in ms],
                                              months=ms)
    antennas: dict[int, dict] = {}
    for a in np.unique(table.antenna):
        chs = {int(table.polarisation[ch]): labels[ch] for ch in np.flatnonzero(table.antenna == a)}
        if 0 in chs and 1 in chs and chs[0] in yearly and chs[1] in yearly:
            g = gps_deg.get(int(a)) if isinstance(gps_deg, Mapping) else gps_deg
            antennas[int(a)] = check_antenna(yearly[chs[0]], yearly[chs[1]], gps_deg=g, gps_sigma_deg=gps_sigma_deg)
    return OrientationResult(monthly=monthly, yearly=yearly, antennas=antennas, cut_report=report,
                             outlier_fraction=frac, skipped={k: v for k, v in skipped.items() if v})
