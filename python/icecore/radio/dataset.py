"""Folders of radio files: simulate a data set into a folder, find the data files of a folder,
clean waveform files into noise tables, and gather noise tables for the orientation fit.

These are what ``icecore radio simulate|clean|orient`` do; the CLI only parses flags and prints.
Each loop over months or files reports through :func:`icecore._progress.progress_bar` (a bar on a
terminal, a log line every 30 s in a batch log; ``progress=False`` silences it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write
from .._progress import progress_bar
from ..coords import as_time
from ..errors import InputError
from .io import NOISE_FORMAT, NoiseTable, file_format, load, load_noise_table, save, save_noise_table
from .orientation import month_labels
from .pipeline import process
from .simulate import _month_starts, simulate_months

__all__ = [
    "DATA_SUFFIXES",
    "SimulatedDataset",
    "CleanedFile",
    "simulate_dataset",
    "find_data_files",
    "clean_files",
    "load_noise_tables",
]

#: File name suffixes of radio files (waveforms or noise tables) picked up from a folder.
DATA_SUFFIXES = (".npz", ".h5", ".hdf5")


@dataclass
class SimulatedDataset:
    """What :func:`simulate_dataset` wrote.

    Attributes
    ----------
    files : list of Path
        One waveform file per calendar month, in time order.
    events, msb_flips : int
        Events simulated, MSB flips injected (all channels).
    channels : dict
        Channel label (``"A1P0"``) -> true arm azimuth (degrees).
    seed : int or None
        The seed of the simulation.
    truth_file : Path
        ``truth.json`` next to the files (the :meth:`to_dict` of this summary).
    """

    files: list[Path]
    events: int
    msb_flips: int
    channels: dict[str, float]
    seed: Any
    truth_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [str(f) for f in self.files],
            "events": self.events,
            "msb_flips": self.msb_flips,
            "channels": dict(self.channels),
            "seed": self.seed,
        }


def simulate_dataset(
    out_dir: Any,
    start: Any = "2024-01-01",
    days: float = 30.0,
    *,
    file_format: str = "npz",
    seed: Any = None,
    progress: bool | None = None,
    **simulate_kwargs: Any,
) -> SimulatedDataset:
    """Simulate ``days`` of data from ``start`` into ``out_dir`` (created): one file per month.

    Parameters
    ----------
    out_dir : path
        Output folder; files are named ``radio_<YYYY-MM>.<file_format>``, plus ``truth.json``.
    start : ISO time, MJD or astropy Time
    days : float
    file_format : {"npz", "h5"}
    seed : int or None
    progress : bool or None
        Progress over the months (:func:`icecore._progress.progress_bar`; None: bar on a terminal,
        30-s log lines otherwise; False: silent).
    **simulate_kwargs
        Passed to :func:`~icecore.radio.simulate.simulate_months` (``antennas``,
        ``arm_azimuth_deg``, ``swapped``, ``events_per_hour``, ``msb_flip_rate``, ...).

    Returns
    -------
    SimulatedDataset
    """
    if file_format not in ("npz", "h5"):
        raise InputError(f"argument 'file_format': expected 'npz' or 'h5', got {file_format!r}", "file_format")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    channels: dict[str, float] = {}
    n_events = n_flips = 0
    n_months = _count_months(start, days)
    with progress_bar(total=n_months, progress=progress, desc="radio simulate", unit="month") as bar:
        for data, truth in simulate_months(start, days, seed=seed, **simulate_kwargs):
            name = f"radio_{month_labels(data.times_mjd[:1])[0]}.{file_format}"
            files.append(save(data, out / name))
            channels = {data.channel_label(c): float(v) for c, v in enumerate(truth.arm_azimuth_deg)}
            n_events += data.n_events
            n_flips += len(truth.msb_flips)
            bar.update(1)
    summary = SimulatedDataset(files=files, events=n_events, msb_flips=n_flips, channels=channels, seed=seed)
    summary.truth_file = atomic_write(out / "truth.json", json.dumps(summary.to_dict(), indent=2))
    return summary


def _count_months(start: Any, days: Any) -> int | None:
    """Calendar months :func:`simulate_months` will yield (None when the arguments are bad:
    then ``simulate_months`` raises the argument error itself)."""
    try:
        start_mjd = float(as_time(start, "start").utc.mjd)
        return len(_month_starts(start_mjd, start_mjd + float(days)))
    except (TypeError, ValueError):
        return None


def find_data_files(items: Iterable[Any]) -> list[Path]:
    """Files given directly, plus the radio files (:data:`DATA_SUFFIXES`, not hidden) of folders.

    Raises FileNotFoundError for a path that does not exist and InputError when nothing is found.
    """
    names = [str(i) for i in items]
    out: list[Path] = []
    for item in names:
        p = Path(item)
        if p.is_dir():
            found = (f for f in p.iterdir() if f.suffix.lower() in DATA_SUFFIXES and not f.name.startswith("."))
            out.extend(sorted(found))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or directory: {p}")
    if not out:
        raise InputError(f"argument 'data': no {'/'.join(DATA_SUFFIXES)} files in {names}", "data")
    return out


@dataclass
class CleanedFile:
    """One waveform file cleaned by :func:`clean_files` (counts summed over channels and events)."""

    source: Path
    noise_table: Path
    events: int
    rejected: dict[str, int] = field(default_factory=dict)  # channel label -> events rejected by cleaning
    msb_flips_undone: int = 0
    replaced_by_neighbours: int = 0
    copy_repaired_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "noise_table": str(self.noise_table),
            "events": self.events,
            "rejected": dict(self.rejected),
            "msb_flips_undone": self.msb_flips_undone,
            "replaced_by_neighbours": self.replaced_by_neighbours,
            "copy_repaired_samples": self.copy_repaired_samples,
        }


def clean_files(items: Iterable[Any], out_dir: Any, *, progress: bool | None = None,
                **process_kwargs: Any) -> list[CleanedFile]:
    """Clean, filter and measure every waveform file of ``items`` (files or folders) into
    ``out_dir/noise_<name>.npz`` (:func:`~icecore.radio.pipeline.process` with ``process_kwargs``).

    ``progress`` reports over the files (see :func:`simulate_dataset`); the per-channel progress of
    :func:`~icecore.radio.pipeline.process` is off unless ``progress`` is in ``process_kwargs``."""
    out = Path(out_dir)
    done = []
    files = find_data_files(items)
    _inner_progress(process_kwargs)
    for f in progress_bar(files, progress=progress, desc="radio clean", unit="file"):
        table = process(load(f), **process_kwargs)
        dest = save_noise_table(table, out / f"noise_{f.stem}.npz")
        done.append(CleanedFile(
            source=f,
            noise_table=dest,
            events=int(table.times_mjd.size),
            rejected={table.channel_label(c): int(table.rejected[c].sum()) for c in range(table.n_channels)},
            msb_flips_undone=int(table.n_flipped.sum()),
            replaced_by_neighbours=int(table.n_replaced.sum()),
            copy_repaired_samples=int(table.n_copy_repaired.sum()),
        ))
    return done


def _inner_progress(process_kwargs: dict[str, Any]) -> None:
    """The files' loop reports; the channel loop inside each file is silent unless asked for
    (``progress`` in ``process_kwargs``)."""
    process_kwargs.setdefault("progress", False)


def load_noise_tables(items: Iterable[Any], *, progress: bool | None = None, **process_kwargs: Any) -> NoiseTable:
    """One noise table from files or folders holding noise tables and/or waveform files.

    Noise tables are read as they are; waveform files are processed first
    (:func:`~icecore.radio.pipeline.process` with ``process_kwargs``). The tables are joined in
    time order (:meth:`NoiseTable.concatenate`). ``progress`` reports over the files (see
    :func:`simulate_dataset`).
    """
    tables = []
    files = find_data_files(items)
    _inner_progress(process_kwargs)
    for path in progress_bar(files, progress=progress, desc="radio files", unit="file"):
        if file_format(path) == NOISE_FORMAT:
            tables.append(load_noise_table(path))
        else:
            tables.append(process(load(path), **process_kwargs))  # a waveform file (load checks its format)
    return NoiseTable.concatenate(tables)
