"""Radio waveform files: the documented ``.npz`` layout (and the same layout in HDF5).

Layout ``icecore-radio-v1`` (one file holds one station over any time span, typically a month;
all channels are read out together, so the event times are shared):

=====================  ===========================  ==============================================
key                    dtype / shape                meaning
=====================  ===========================  ==============================================
``format``             str, 0-d                     ``"icecore-radio-v1"``
``times_mjd``          float64 (events,)            event times, MJD (UTC), strictly increasing
``traces``             int16 or int32               ADC counts, (channels, events, copies,
                                                    samples); copies = concurrent read-outs of
                                                    the same samples (4 for IceTop radio)
``antenna``            int (channels,)              antenna id of each channel
``polarisation``       int (channels,)              polarisation (arm) of each channel, 0 or 1
``sampling_rate_hz``   float, 0-d                   e.g. 1e9
``adc_bits``           int, 0-d                     ADC bit depth; samples are two's-complement
                                                    values in [-2**(bits-1), 2**(bits-1) - 1]
``station``            str, 0-d (optional)          free-text station name
=====================  ===========================  ==============================================

(antenna, polarisation) pairs are unique. The HDF5 variant (``.h5``/``.hdf5``, needs the
``hdf5`` extra) stores the arrays as datasets of the same names and the 0-d values as root
attributes (for tools that prefer HDF5; the datasets are written contiguous and uncompressed,
and :func:`load` reads them whole).

Noise tables (``icecore-radio-noise-v1``, written by :func:`save_noise_table`) hold the result of
cleaning and filtering: per channel and event the RMS amplitude, RMS spread and cleaning flags.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .._io import atomic_write, read_npz
from .._optional import require
from ..errors import DataFormatError, InputError

__all__ = [
    "file_format",
    "FORMAT",
    "NOISE_FORMAT",
    "RadioData",
    "NoiseTable",
    "load",
    "save",
    "load_noise_table",
    "save_noise_table",
]

log = logging.getLogger(__name__)

FORMAT = "icecore-radio-v1"
NOISE_FORMAT = "icecore-radio-noise-v1"
_H5_SUFFIXES = (".h5", ".hdf5")


@dataclass
class RadioData:
    """Waveforms of one station: see the module docstring for the meaning of each field."""

    times_mjd: np.ndarray
    traces: np.ndarray
    antenna: np.ndarray
    polarisation: np.ndarray
    sampling_rate_hz: float = 1e9
    adc_bits: int = 12
    station: str = ""

    def __post_init__(self) -> None:
        validate(self)

    @property
    def n_channels(self) -> int:
        return int(self.traces.shape[0])

    @property
    def n_events(self) -> int:
        return int(self.traces.shape[1])

    def channel_label(self, ch: int) -> str:
        """``"A<antenna>P<polarisation>"``, e.g. ``"A1P0"``."""
        return f"A{int(self.antenna[ch])}P{int(self.polarisation[ch])}"

    def select_events(self, index: Any) -> RadioData:
        """A new RadioData with the events selected by a boolean mask or index array."""
        return RadioData(
            times_mjd=self.times_mjd[index],
            traces=self.traces[:, index],
            antenna=self.antenna,
            polarisation=self.polarisation,
            sampling_rate_hz=self.sampling_rate_hz,
            adc_bits=self.adc_bits,
            station=self.station,
        )


def _fail(name: str, problem: str, path: Any = None) -> NoReturn:
    msg = f"'{name}': {problem}"
    if path is None:
        raise InputError(f"argument {msg}", name)
    raise DataFormatError(msg, path=str(path))


def validate(data: RadioData, path: Any = None) -> None:
    """Check shapes, dtypes, ranges and monotonic times; raise naming the field.

    Raises :class:`~icecore.errors.InputError` for objects built in memory and
    :class:`~icecore.errors.DataFormatError` (with the file name) for loaded files.
    """
    t = _checked_times(data.times_mjd, path)
    tr = _checked_traces(data.traces, t.size, path)
    for name in ("antenna", "polarisation"):
        a = np.asarray(getattr(data, name))
        if a.dtype.kind not in "iu" or a.shape != (tr.shape[0],):
            _fail(name, f"expected {tr.shape[0]} integers (one per channel), got dtype {a.dtype} shape {a.shape}", path)
    pol = np.asarray(data.polarisation)
    if np.any((pol != 0) & (pol != 1)):
        _fail("polarisation", "values must be 0 or 1", path)
    pairs = set(zip(np.asarray(data.antenna).tolist(), pol.tolist()))
    if len(pairs) != tr.shape[0]:
        _fail("antenna", "(antenna, polarisation) pairs must be unique", path)
    fs = data.sampling_rate_hz
    real = isinstance(fs, (int, float, np.integer, np.floating)) and not isinstance(fs, bool)
    if not real or not np.isfinite(float(fs)) or float(fs) <= 0:
        _fail("sampling_rate_hz", f"expected a positive number, got {fs!r}", path)
    bits = data.adc_bits
    maxbits = 8 * tr.dtype.itemsize
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= maxbits:
        _fail("adc_bits", f"expected an integer in [2, {maxbits}] for {tr.dtype} traces, got {bits!r}", path)
    lo, hi = -(1 << (int(bits) - 1)), (1 << (int(bits) - 1)) - 1
    if tr.size and (int(tr.min()) < lo or int(tr.max()) > hi):
        _fail("traces", f"values outside the {bits}-bit ADC range [{lo}, {hi}]", path)
    data.times_mjd = t
    data.traces = np.ascontiguousarray(tr)
    data.antenna = np.asarray(data.antenna, dtype=np.int64)
    data.polarisation = pol.astype(np.int64)
    data.sampling_rate_hz = float(fs)
    data.adc_bits = int(bits)
    data.station = str(data.station)


def _checked_times(times_mjd: Any, path: Any) -> np.ndarray:
    t = np.asarray(times_mjd)
    if t.dtype.kind not in "iuf" or t.ndim != 1:
        _fail("times_mjd", f"expected a 1-d float array, got dtype {t.dtype} shape {t.shape}", path)
    t = t.astype(np.float64)
    if t.size == 0:
        _fail("times_mjd", "no events", path)
    if not np.all(np.isfinite(t)):
        _fail("times_mjd", "contains NaN or infinity", path)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        k = int(np.flatnonzero(np.diff(t) <= 0)[0])
        _fail("times_mjd", f"must be strictly increasing (event {k + 1}: {t[k + 1]!r} after {t[k]!r})", path)
    return t


def _checked_traces(traces: Any, n_events: int, path: Any) -> np.ndarray:
    tr = np.asarray(traces)
    if tr.dtype not in (np.dtype(np.int16), np.dtype(np.int32)):
        _fail("traces", f"expected int16 or int32 ADC counts, got dtype {tr.dtype}", path)
    if tr.ndim != 4:
        _fail("traces", f"expected shape (channels, events, copies, samples), got {tr.shape}", path)
    if tr.shape[1] != n_events:
        _fail("traces", f"has {tr.shape[1]} events but times_mjd has {n_events}", path)
    if tr.shape[0] < 1 or tr.shape[2] < 1 or tr.shape[3] < 3:
        _fail("traces", f"needs >= 1 channel, >= 1 copy and >= 3 samples, got shape {tr.shape}", path)
    return tr


def save(data: RadioData, path: Any) -> Path:
    """Write ``data`` atomically as ``.npz`` (or ``.h5``/``.hdf5``); returns the path."""
    path = Path(path)
    fields: dict[str, Any] = {  # Any: numpy's stubs type savez(**kwds) against its allow_pickle flag
        "format": np.array(FORMAT),
        "times_mjd": data.times_mjd,
        "traces": data.traces,
        "antenna": data.antenna,
        "polarisation": data.polarisation,
        "sampling_rate_hz": np.array(data.sampling_rate_hz),
        "adc_bits": np.array(data.adc_bits),
        "station": np.array(data.station),
    }
    if path.suffix.lower() in _H5_SUFFIXES:
        return _save_h5(fields, path)
    buf = io.BytesIO()
    np.savez(buf, **fields)
    return atomic_write(path, buf.getvalue())


def _h5py() -> Any:
    return require("h5py", "hdf5", "HDF5 radio files")


def _save_h5(fields: dict[str, np.ndarray], path: Path) -> Path:
    h5py = _h5py()

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for key, val in fields.items():
            if val.ndim == 0:
                f.attrs[key] = val.item()
            else:
                f.create_dataset(key, data=val)
    return atomic_write(path, buf.getvalue())


def _read_fields(path: Path) -> dict[str, Any]:
    if path.suffix.lower() in _H5_SUFFIXES:
        h5py = _h5py()
        try:
            with h5py.File(path, "r") as f:
                out: dict[str, Any] = {k: f[k][()] for k in f.keys()}
                out.update({k: v for k, v in f.attrs.items()})
        except OSError as exc:
            raise DataFormatError(f"not a readable HDF5 file ({exc})", path=str(path)) from None
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in out.items()}
    return read_npz(path, what=".npz file")


def file_format(path: Any) -> str:
    """The ``format`` tag of a radio file without reading its arrays ("" if it has none)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"radio data file not found: {path}")
    if path.suffix.lower() in _H5_SUFFIXES:
        fields = _read_fields(path)
        return str(fields.get("format", ""))
    fields = read_npz(path, what=".npz file")
    return str(fields["format"].item()) if "format" in fields else ""


def _scalar(fields: dict[str, Any], key: str, path: Path, default: Any = None) -> Any:
    if key not in fields:
        if default is not None:
            return default
        raise DataFormatError(f"missing field '{key}'", path=str(path))
    v = np.asarray(fields[key])
    if v.ndim != 0:
        raise DataFormatError(f"field '{key}' must be a scalar, got shape {v.shape}", path=str(path))
    return v.item()


def load(path: Any) -> RadioData:
    """Read and validate a waveform file (``.npz``, or ``.h5``/``.hdf5`` with h5py).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataFormatError (ValueError)
        Wrong format tag, missing field, bad dtype/shape, non-monotonic times, values outside
        the ADC range; the message names the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"radio data file not found: {path}")
    fields = _read_fields(path)
    fmt = _scalar(fields, "format", path)
    if fmt != FORMAT:
        raise DataFormatError(f"field 'format' is {fmt!r}, expected {FORMAT!r}", path=str(path))
    for key in ("times_mjd", "traces", "antenna", "polarisation"):
        if key not in fields:
            raise DataFormatError(f"missing field '{key}'", path=str(path))
    data = RadioData.__new__(RadioData)
    data.times_mjd = np.asarray(fields["times_mjd"])
    data.traces = np.asarray(fields["traces"])
    data.antenna = np.asarray(fields["antenna"])
    data.polarisation = np.asarray(fields["polarisation"])
    data.sampling_rate_hz = _scalar(fields, "sampling_rate_hz", path)
    data.adc_bits = _scalar(fields, "adc_bits", path)
    data.station = str(_scalar(fields, "station", path, default=""))
    validate(data, path=path)
    log.info("loaded %s: %d channels x %d events", path, data.n_channels, data.n_events)
    return data


@dataclass
class NoiseTable:
    """Per-channel, per-event noise levels after cleaning and filtering.

    Attributes
    ----------
    times_mjd : (events,) float64
    antenna, polarisation : (channels,) int64
    rms, spread : (channels, events) float64
        RMS amplitude and RMS spread of the filtered traces (ADC counts after filtering).
    rejected : (channels, events) bool
        Rejected by the cleaning (more than ``max_spikes`` unique spikes).
    n_spikes, n_flipped, n_replaced, n_copy_repaired : (channels, events) int32
        Unique spike positions, MSB flips undone, samples replaced by neighbour means, samples
        repaired by the copy comparison.
    meta : dict
        Settings used (band, filter passes, thresholds...), JSON-serialisable.
    """

    times_mjd: np.ndarray
    antenna: np.ndarray
    polarisation: np.ndarray
    rms: np.ndarray
    spread: np.ndarray
    rejected: np.ndarray
    n_spikes: np.ndarray
    n_flipped: np.ndarray
    n_replaced: np.ndarray
    n_copy_repaired: np.ndarray
    meta: dict = field(default_factory=dict)

    def channel_label(self, ch: int) -> str:
        return f"A{int(self.antenna[ch])}P{int(self.polarisation[ch])}"

    @property
    def n_channels(self) -> int:
        return int(self.rms.shape[0])

    @staticmethod
    def concatenate(tables: list[NoiseTable]) -> NoiseTable:
        """Join tables of the same channels in time order."""
        if not tables:
            raise InputError("argument 'tables': no noise tables given", "tables")
        first = tables[0]
        for t in tables[1:]:
            if not (np.array_equal(t.antenna, first.antenna) and np.array_equal(t.polarisation, first.polarisation)):
                raise InputError("argument 'tables': tables hold different channels", "tables")
        order = np.argsort(np.concatenate([t.times_mjd for t in tables]), kind="stable")

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(t, name) for t in tables], axis=-1)[..., order]

        return NoiseTable(
            times_mjd=cat("times_mjd"), antenna=first.antenna, polarisation=first.polarisation,
            rms=cat("rms"), spread=cat("spread"), rejected=cat("rejected"), n_spikes=cat("n_spikes"),
            n_flipped=cat("n_flipped"), n_replaced=cat("n_replaced"), n_copy_repaired=cat("n_copy_repaired"),
            meta=dict(first.meta),
        )


_NOISE_ARRAYS = ("times_mjd", "antenna", "polarisation", "rms", "spread", "rejected", "n_spikes",
                 "n_flipped", "n_replaced", "n_copy_repaired")


def save_noise_table(table: NoiseTable, path: Any) -> Path:
    """Write a noise table atomically as ``.npz``."""
    import json

    buf = io.BytesIO()
    np.savez(buf, format=np.array(NOISE_FORMAT), meta=np.array(json.dumps(table.meta)),
             **{k: getattr(table, k) for k in _NOISE_ARRAYS})
    return atomic_write(Path(path), buf.getvalue())


def load_noise_table(path: Any) -> NoiseTable:
    """Read a noise table written by :func:`save_noise_table` (validated)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"noise table not found: {path}")
    fields = _read_fields(path)
    fmt = _scalar(fields, "format", path)
    if fmt != NOISE_FORMAT:
        raise DataFormatError(f"field 'format' is {fmt!r}, expected {NOISE_FORMAT!r}", path=str(path))
    for key in _NOISE_ARRAYS:
        if key not in fields:
            raise DataFormatError(f"missing field '{key}'", path=str(path))
    t = np.asarray(fields["times_mjd"], dtype=np.float64)
    nch = np.asarray(fields["antenna"]).shape[0]
    for key in _NOISE_ARRAYS[3:]:
        if np.asarray(fields[key]).shape != (nch, t.size):
            raise DataFormatError(f"field '{key}' must have shape ({nch}, {t.size})", path=str(path))
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise DataFormatError("field 'times_mjd' must be strictly increasing", path=str(path))
    return NoiseTable(
        times_mjd=t,
        antenna=np.asarray(fields["antenna"], dtype=np.int64),
        polarisation=np.asarray(fields["polarisation"], dtype=np.int64),
        rms=np.asarray(fields["rms"], dtype=np.float64),
        spread=np.asarray(fields["spread"], dtype=np.float64),
        rejected=np.asarray(fields["rejected"], dtype=bool),
        n_spikes=np.asarray(fields["n_spikes"], dtype=np.int32),
        n_flipped=np.asarray(fields["n_flipped"], dtype=np.int32),
        n_replaced=np.asarray(fields["n_replaced"], dtype=np.int32),
        n_copy_repaired=np.asarray(fields["n_copy_repaired"], dtype=np.int32),
        meta=json.loads(str(_scalar(fields, "meta", path))),
    )
