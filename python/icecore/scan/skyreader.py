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
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np

from .._io import atomic_write
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
]

#: skyreader pixel dtypes, versions 0 and 1 (``index`` is a RING pixel number).
PIXEL_V0 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float)])
PIXEL_V1 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float),
                     ("X", float), ("Y", float), ("Z", float), ("T", float)])

#: Accepted ``dec_convention`` values (see the module docstring).
DEC_CONVENTIONS = ("standard", "scanner-legacy")


# ---- writing ----------------------------------------------------------------------------------
def _skyreader_arrays(result: ScanResult) -> dict[str, np.ndarray]:
    meta = result.meta
    n = len(result.nside)
    e_in = result.energy_in if result.energy_in is not None else np.zeros(n)
    e_tot = result.energy_tot if result.energy_tot is not None else np.zeros(n)
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
        rows = [[int(r["index"])] + [float(r[f]) for f in names[1:]] for r in a]
        out[key] = {"columns": list(names), "metadata": dict(a.dtype.metadata or {}), "data": rows}
    return out


def write_json(result: ScanResult, path: str | Path) -> Path:
    """Write the icecube-skyreader json format, atomically."""
    return atomic_write(path, json.dumps(to_skyreader_dict(result), indent=1, allow_nan=True))


# ---- reading ----------------------------------------------------------------------------------
def _from_arrays(arrays: dict[str, np.ndarray], source: str, dec_convention: str) -> ScanResult:
    if dec_convention not in DEC_CONVENTIONS:
        raise InputError(f"argument 'dec_convention': expected 'standard' or 'scanner-legacy', got "
                         f"{dec_convention!r}", "dec_convention")
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
        cols["ein"].append(np.asarray(a["E_in"], float) if "E_in" in names else np.zeros(idx.size))
        cols["etot"].append(np.asarray(a["E_tot"], float) if "E_tot" in names else np.zeros(idx.size))
        if a.dtype.metadata:
            meta.update({k: (v.item() if isinstance(v, np.generic) else v)
                         for k, v in a.dtype.metadata.items() if k != "nside"})
    if not cols["nside"]:
        raise DataFormatError("no 'nside-N' arrays found", source)
    n = sum(len(x) for x in cols["nside"])
    return ScanResult(np.concatenate(cols["nside"]), np.concatenate(cols["pixel"]), np.concatenate(cols["llh"]),
                      np.concatenate(cols["vtx"]), np.full(n, -1), np.full(n, -1),
                      np.concatenate(cols["ein"]), np.concatenate(cols["etot"]),
                      meta={k: meta[k] for k in ("run_id", "event_id", "event_type", "mjd", "is_real_event")
                            if k in meta})


def read_npz(path: str | Path, *, dec_convention: str = "standard") -> ScanResult:
    """Read an icecube-skyreader npz file (with or without ``header``; pixel versions 0 and 1).

    ``dec_convention="scanner-legacy"`` for files from skymap_scanner versions whose pixel
    direction was Dec = theta - 90 deg (see the module docstring). n_eval and status are -1
    (unknown) in the result.
    """
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read npz: {exc}", str(path)) from None
    with npz:
        arrays = {k: npz[k] for k in npz.files if k.startswith("nside-")}
        if "header" in npz.files:
            for h in npz["header"]:
                md = {k: h[k].item() if isinstance(h[k], np.generic) else h[k] for k in h.dtype.names}
                key = f"nside-{int(md['nside'])}"
                if key in arrays:
                    arrays[key] = np.asarray(arrays[key], dtype=np.dtype(arrays[key].dtype, metadata=md))
    return _from_arrays(arrays, str(path), dec_convention)


def from_skyreader_dict(d: dict[str, Any], source: str = "json", *, dec_convention: str = "standard") -> ScanResult:
    """A ScanResult from the skyreader JSON structure (``dec_convention`` as in :func:`read_npz`)."""
    arrays = {}
    for key, block in d.items():
        try:
            columns, md, data = block["columns"], dict(block["metadata"]), block["data"]
        except (KeyError, TypeError):
            raise DataFormatError(f"{key}: expected columns, metadata and data", source) from None
        dt = np.dtype([(c, int if c == "index" else float) for c in columns], metadata=md)
        rows = [tuple(np.nan if v == "<skyreader.nan>" else v for v in r) for r in data]
        arrays[key] = np.array(rows, dtype=dt) if rows else np.zeros(0, dtype=dt)
    return _from_arrays(arrays, source, dec_convention)


def read_json(path: str | Path, *, dec_convention: str = "standard") -> ScanResult:
    """Read an icecube-skyreader json file (``dec_convention`` as in :func:`read_npz`)."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read json: {exc}", str(path)) from None
    return from_skyreader_dict(d, str(path), dec_convention=dec_convention)


def read(path: str | Path, *, dec_convention: str = "standard") -> ScanResult:
    """:func:`read_json` for ``.json`` files, else :func:`read_npz`."""
    if Path(path).suffix == ".json":
        return read_json(path, dec_convention=dec_convention)
    return read_npz(path, dec_convention=dec_convention)
