"""The icecube-skyreader file formats (npz and json) of a :class:`~.result.ScanResult`.

skyreader (``SkyScanResult``) keeps one structured array per nside, ``nside-N``, whose
``index`` field holds RING pixel numbers (it reads them with ``healpy.pix2ang(nside, index)``),
with the event metadata (run_id, event_id, event_type, mjd, is_real_event, version, nside) in
the dtype metadata, and in npz files also in a ``header`` array. Pixel version 0 has the fields
index, llh, E_in, E_tot; version 1 adds the vertex X, Y, Z (m) and T (ns). icecore writes
version 1 and reads both; the scan's NESTED pixels are converted at this edge.

Declination convention of stored pixels: skyreader (and icecore) read a pixel's direction as
Dec = 90 deg - theta, RA = phi. The skymap_scanner versions that produced older files (e.g. the
fixture of run 136766 / IC220624A) built each pixel's direction as Dec = theta - 90 deg (a
historic convention later acknowledged in IceCube's own conversion scripts), so such files read
the standard way are mirrored in declination. ``dec_convention="scanner-legacy"`` undoes it
exactly (the HEALPix grid is symmetric under Dec -> -Dec). Files written by icecore use the
standard convention.

Which convention a file uses is not written in it, so the readers decide as follows
(``dec_convention=None``, the default):

* current layout -- an npz with a ``header`` array, or JSON/npz arrays carrying event metadata
  (run_id, event_id) -- is read with the standard convention;
* the old layout -- npz ``nside-N`` arrays with neither a ``header`` nor metadata (the known
  markers of the old skymap_scanner files: no header, pixel version 0, the event named only by
  the file name ``runNNNNNNNN-evtNNNNNNNNNNNN-TYPE-...``) -- raises
  :class:`LegacyLayoutError`: a declination sign cannot be guessed for a position that goes
  into a circular. Pass ``dec_convention="scanner-legacy"`` (CLI: ``--legacy-dec``) to undo
  the mirror, or ``dec_convention="standard"`` if the file is known to use Dec = 90 - theta.

An explicit ``dec_convention`` is always applied as given. :func:`icecore.scan.association.
check_catalog_position` then checks the position against the event's catalogue entry (a
disagreement is an error that names the convention to use).

Energies: ``E_in`` / ``E_tot`` are NaN where they were not computed (skyreader's "not
computed"; icecore's scan does not compute them), never 0.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np

from .._io import atomic_write
from .._io import read_npz as _read_npz_arrays
from ..errors import DataFormatError, InputError
from .result import ScanResult

__all__ = [
    "PIXEL_V0",
    "PIXEL_V1",
    "write_npz",
    "write_json",
    "to_skyreader_dict",
    "read_npz",
    "read_json",
    "read",
    "from_skyreader_dict",
    "DEC_CONVENTIONS",
    "NAN_SENTINEL",
    "LegacyLayoutError",
    "is_legacy_layout",
    "event_from_filename",
]

#: skyreader pixel dtypes, versions 0 and 1 (``index`` is a RING pixel number).
PIXEL_V0 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float)])
PIXEL_V1 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float),
                     ("X", float), ("Y", float), ("Z", float), ("T", float)])

#: Accepted ``dec_convention`` values (see the module docstring); None detects the layout.
DEC_CONVENTIONS = ("standard", "scanner-legacy")

_LEGACY_NAME = re.compile(r"run0*(?P<run>\d+)[-.]evt0*(?P<evt>\d+)[-.](?P<type>[A-Za-z_]+)")


class LegacyLayoutError(DataFormatError):
    """An old skymap_scanner file was read without saying which declination convention it uses.

    Attributes
    ----------
    markers : list of str
        The legacy markers found (no header, no metadata, pixel version 0, file-name event).
    """

    def __init__(self, message: str, path: str | None = None, markers: list[str] | None = None) -> None:
        super().__init__(message, path)
        self.markers = list(markers or [])


def event_from_filename(path: str | Path) -> dict[str, Any] | None:
    """run_id, event_id and event_type from a skymap_scanner file name (``run00136766-evt000007637140-GOLD-...``).

    Returns None when the name does not follow that pattern.
    """
    m = _LEGACY_NAME.search(Path(path).name)
    if m is None:
        return None
    return {"run_id": int(m["run"]), "event_id": int(m["evt"]), "event_type": m["type"]}


def _legacy_markers(arrays: Mapping[str, np.ndarray], has_header: bool, source: str) -> list[str]:
    """Markers of the old layout; empty when the file carries a header or event metadata."""
    if has_header:
        return []
    ids = [a.dtype.metadata for a in arrays.values() if a.dtype.metadata and "run_id" in a.dtype.metadata]
    if ids:
        return []
    markers = ["no 'header' array", "no event metadata in the pixel arrays"]
    if arrays and all(set(a.dtype.names or ()) <= {"index", "llh", "E_in", "E_tot"} for a in arrays.values()):
        markers.append("pixel version 0 (no vertex X, Y, Z, T)")
    ev = event_from_filename(source)
    if ev is not None:
        markers.append(f"event named by the file name only (run {ev['run_id']}, event {ev['event_id']})")
    return markers


def is_legacy_layout(path: str | Path) -> bool:
    """Whether an npz/json skyreader file has the old skymap_scanner layout (see the module docstring)."""
    p = Path(path)
    if p.suffix == ".json":
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"cannot read json: {exc}", str(p)) from None
        return not any(isinstance(b, dict) and "run_id" in (b.get("metadata") or {}) for b in d.values())
    arrays, has_header = _load_npz(p)
    return bool(_legacy_markers(arrays, has_header, str(p)))


def _resolve_convention(dec_convention: str | None, arrays: Mapping[str, np.ndarray], has_header: bool,
                        source: str) -> str:
    if dec_convention is not None:
        if dec_convention not in DEC_CONVENTIONS:
            raise InputError(f"argument 'dec_convention': expected 'standard', 'scanner-legacy' or None, got "
                             f"{dec_convention!r}", "dec_convention")
        return dec_convention
    markers = _legacy_markers(arrays, has_header, source)
    if not markers:
        return "standard"
    raise LegacyLayoutError(
        "old skymap_scanner layout (" + "; ".join(markers) + "): its pixels may be mirrored in declination "
        "(old scanners stored Dec = theta - 90 deg) and the file does not say which. Pass "
        "dec_convention='scanner-legacy' (CLI: --legacy-dec) to undo the mirror, or dec_convention='standard' "
        "if the file is known to use Dec = 90 deg - theta; then check the position against the event's "
        "catalogue entry (icecore.scan.association.check_catalog_position).", source, markers)


# ---- writing ----------------------------------------------------------------------------------
#: skyreader's JSON spelling of NaN ("not computed").
NAN_SENTINEL = "<skyreader.nan>"


def _energies(result: ScanResult) -> tuple[np.ndarray, np.ndarray]:
    """E_in, E_tot to write: NaN where not computed.

    A column that is missing, or exactly zero at every pixel (icecore's scan computes no
    energies and stores 0 for them), is written as NaN -- skyreader's "not computed"; a deposited
    energy of exactly 0 GeV in every direction is not a measurement.
    """
    n = len(result.nside)
    out = []
    for e in (result.energy_in, result.energy_tot):
        if e is None or (np.size(e) and not np.any(np.asarray(e) != 0.0)):
            out.append(np.full(n, np.nan))
        else:
            out.append(np.asarray(e, dtype=float))
    return out[0], out[1]


def _json_value(v: float) -> float | str:
    return NAN_SENTINEL if v != v else v
def _skyreader_arrays(result: ScanResult) -> dict[str, np.ndarray]:
    meta = result.meta
    e_in, e_tot = _energies(result)
    out = {}
    for ns in result.nsides:
        sel = np.flatnonzero(result.nside == ns)
        ring = hp.nest2ring(ns, result.pixel[sel])
        order = np.argsort(ring, kind="stable")
        sel, ring = sel[order], ring[order]
        md = {"run_id": int(meta["run_id"]), "event_id": int(meta["event_id"]),
              "event_type": str(meta["event_type"]), "mjd": float(meta["mjd"]),
              "is_real_event": bool(meta["is_real_event"]), "version": 1, "nside": int(ns)}
        a = np.zeros(sel.size, dtype=np.dtype(PIXEL_V1, metadata=md))
        a["index"] = ring
        a["llh"] = result.neg_llh[sel]
        a["E_in"] = e_in[sel]
        a["E_tot"] = e_tot[sel]
        for j, f in enumerate("XYZT"):
            a[f] = result.vertex[sel, j]
        out[f"nside-{ns}"] = a
    return out


def write_npz(result: ScanResult, path: str | Path) -> Path:
    """Write the icecube-skyreader npz format (version 1 pixels, with a ``header``), atomically."""
    arrays = _skyreader_arrays(result)
    first: Mapping[str, Any] = next(iter(arrays.values())).dtype.metadata or {}
    hdr_dtype = np.dtype([(k, type(v)) if not isinstance(v, str) else (k, f"U{max(1, len(v))}")
                          for k, v in first.items()])
    names = hdr_dtype.names or ()
    metadata: list[Mapping[str, Any]] = [a.dtype.metadata or {} for a in arrays.values()]
    header = np.array([tuple(md[k] for k in names) for md in metadata], dtype=hdr_dtype)
    payload: dict[str, Any] = {"header": header, **{k: np.asarray(v, dtype=PIXEL_V1) for k, v in arrays.items()}}
    buf = io.BytesIO()
    np.savez(buf, **payload)
    return atomic_write(path, buf.getvalue())


def to_skyreader_dict(result: ScanResult) -> dict[str, Any]:
    """The icecube-skyreader JSON structure (``SkyScanResult.serialize()``)."""
    out: dict[str, Any] = {}
    for key, a in _skyreader_arrays(result).items():
        names = a.dtype.names or ()
        rows = [[int(r["index"])] + [_json_value(float(r[f])) for f in names[1:]] for r in a]
        out[key] = {"columns": list(names), "metadata": dict(a.dtype.metadata or {}), "data": rows}
    return out


def write_json(result: ScanResult, path: str | Path) -> Path:
    """Write the icecube-skyreader json format, atomically."""
    return atomic_write(path, json.dumps(to_skyreader_dict(result), indent=1, allow_nan=True))


# ---- reading ----------------------------------------------------------------------------------
def _from_arrays(arrays: dict[str, np.ndarray], source: str, dec_convention: str | None,
                 has_header: bool = False) -> ScanResult:
    dec_convention = _resolve_convention(dec_convention, arrays, has_header, source)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("nside", "pixel", "llh", "vtx", "ein", "etot")}
    meta: dict[str, Any] = {}
    for key in sorted(arrays, key=lambda k: int(k.split("nside-")[1])):
        a = arrays[key]
        ns = int(key.split("nside-")[1])
        names = a.dtype.names
        if names is None or not {"index", "llh"} <= set(names):
            raise DataFormatError(f"{key}: expected fields index and llh, got {names}", source)
        idx = np.asarray(a["index"], dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= 12 * ns * ns):
            raise DataFormatError(f"{key}: pixel index out of range for nside {ns}", source)
        cols["nside"].append(np.full(idx.size, ns, dtype=np.int64))
        if dec_convention == "scanner-legacy":  # pixel direction was Dec = theta - 90 deg
            th, ph = hp.pix2ang(ns, idx)
            idx = hp.ang2pix(ns, np.pi - th, ph)
        cols["pixel"].append(hp.ring2nest(ns, idx))
        cols["llh"].append(np.asarray(a["llh"], float))
        if all(f in names for f in "XYZT"):
            cols["vtx"].append(np.column_stack([np.asarray(a[f], float) for f in "XYZT"]))
        else:
            cols["vtx"].append(np.full((idx.size, 4), np.nan))
        cols["ein"].append(np.asarray(a["E_in"], float) if "E_in" in names else np.full(idx.size, np.nan))
        cols["etot"].append(np.asarray(a["E_tot"], float) if "E_tot" in names else np.full(idx.size, np.nan))
        if a.dtype.metadata:
            meta.update({k: (v.item() if isinstance(v, np.generic) else v)
                         for k, v in a.dtype.metadata.items() if k != "nside"})
    if not cols["nside"]:
        raise DataFormatError("no 'nside-N' arrays found", source)
    n = sum(len(x) for x in cols["nside"])
    result = ScanResult(np.concatenate(cols["nside"]), np.concatenate(cols["pixel"]), np.concatenate(cols["llh"]),
                        np.concatenate(cols["vtx"]), np.full(n, -1), np.full(n, -1),
                        np.concatenate(cols["ein"]), np.concatenate(cols["etot"]),
                        meta={k: meta[k] for k in ("run_id", "event_id", "event_type", "mjd", "is_real_event")
                              if k in meta})
    # how the declinations were read (reported with the summary)
    result.info["dec_convention"] = dec_convention
    result.info["legacy_layout"] = bool(_legacy_markers(arrays, has_header, source))
    return result


def _load_npz(path: str | Path) -> tuple[dict[str, np.ndarray], bool]:
    content = _read_npz_arrays(path, what="skyreader npz file")
    arrays = {k: v for k, v in content.items() if k.startswith("nside-")}
    has_header = "header" in content
    if has_header:
        for h in content["header"]:
            md = {k: h[k].item() if isinstance(h[k], np.generic) else h[k] for k in h.dtype.names}
            key = f"nside-{int(md['nside'])}"
            if key in arrays:
                arrays[key] = np.asarray(arrays[key], dtype=np.dtype(arrays[key].dtype, metadata=md))
    return arrays, has_header


def read_npz(path: str | Path, *, dec_convention: str | None = None) -> ScanResult:
    """Read an icecube-skyreader npz file (with or without ``header``; pixel versions 0 and 1).

    Parameters
    ----------
    dec_convention : {None, "standard", "scanner-legacy"}
        None (default): standard for the current layout, :class:`LegacyLayoutError` for the old
        skymap_scanner layout (see the module docstring); "scanner-legacy" for files whose pixel
        direction was Dec = theta - 90 deg; "standard" reads the pixels as skyreader does.

    n_eval and status are -1 (unknown) in the result.

    Raises
    ------
    LegacyLayoutError
        Old layout and no ``dec_convention`` given.
    """
    arrays, has_header = _load_npz(path)
    return _from_arrays(arrays, str(path), dec_convention, has_header)


def from_skyreader_dict(d: dict[str, Any], source: str = "json", *,
                        dec_convention: str | None = None) -> ScanResult:
    """A ScanResult from the skyreader JSON structure (``dec_convention`` as in :func:`read_npz`)."""
    arrays = {}
    for key, block in d.items():
        try:
            columns, md, data = block["columns"], dict(block["metadata"]), block["data"]
        except (KeyError, TypeError):
            raise DataFormatError(f"{key}: expected columns, metadata and data", source) from None
        dt = np.dtype([(c, int if c == "index" else float) for c in columns], metadata=md)
        rows = [tuple(np.nan if v == NAN_SENTINEL else v for v in r) for r in data]
        arrays[key] = np.array(rows, dtype=dt) if rows else np.zeros(0, dtype=dt)
    return _from_arrays(arrays, source, dec_convention)


def read_json(path: str | Path, *, dec_convention: str | None = None) -> ScanResult:
    """Read an icecube-skyreader json file (``dec_convention`` as in :func:`read_npz`)."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read json: {exc}", str(path)) from None
    return from_skyreader_dict(d, str(path), dec_convention=dec_convention)


def read(path: str | Path, *, dec_convention: str | None = None) -> ScanResult:
    """:func:`read_json` for ``.json`` files, else :func:`read_npz`."""
    if Path(path).suffix == ".json":
        return read_json(path, dec_convention=dec_convention)
    return read_npz(path, dec_convention=dec_convention)
