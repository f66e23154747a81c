"""Events: DOM pulses with their ids and time, JSON load/save.

JSON layout (``format`` "icecore.event", ``version`` 1)::

    {
      "format": "icecore.event",
      "version": 1,
      "run_id": 0,                 # int
      "event_id": 0,               # int
      "mjd": 60000.5,              # float (UTC MJD) or null
      "pulses": {                  # parallel arrays, one entry per pulse
        "string":    [1, ...],     # 1..86
        "dom":       [1, ...],     # 1..60
        "time_ns":   [10234.5, ...],
        "charge_pe": [1.2, ...]
      },
      "meta": {}                   # free-form, JSON-serialisable (e.g. simulation truth)
    }

The sky scan ships events to its workers in this form.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._validation import as_array
from ..errors import DataFormatError, InputError, ParseError
from .geometry import DetectorGeometry, load_geometry

__all__ = ["Event", "EVENT_FORMAT", "EVENT_VERSION"]

EVENT_FORMAT = "icecore.event"
EVENT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Event:
    """Pulses of one event.

    Build with :meth:`from_arrays`, :meth:`from_json`/:meth:`load` or the simulator. Pulses must
    lie on known IC86 DOMs, with finite times (ns) and finite charges >= 0 PE; an event needs at
    least one pulse. Invalid input raises :class:`~icecore.errors.InputError` (a ValueError).
    """

    string: np.ndarray
    dom: np.ndarray
    time_ns: np.ndarray
    charge_pe: np.ndarray
    run_id: int = 0
    event_id: int = 0
    mjd: float | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls,
        string: Any,
        dom: Any,
        time_ns: Any,
        charge_pe: Any,
        *,
        run_id: int = 0,
        event_id: int = 0,
        mjd: float | None = None,
        meta: dict | None = None,
        geometry: DetectorGeometry | None = None,
    ) -> Event:
        """Validate and build an event from parallel pulse arrays."""
        s = as_array(string, "string", ndim=1, dtype=None, kinds="iuf")
        d = as_array(dom, "dom", ndim=1, dtype=None, kinds="iuf")
        t = as_array(time_ns, "time_ns", ndim=1)
        q = as_array(charge_pe, "charge_pe", ndim=1)
        n = t.size
        for name, arr in (("string", s), ("dom", d), ("charge_pe", q)):
            if arr.size != n:
                raise InputError(f"argument '{name}': length {arr.size} differs from time_ns ({n})", name)
        for name, arr in (("string", s), ("dom", d)):
            if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
                raise InputError(f"argument '{name}': expected integers", name)
        if np.any(q < 0):
            raise InputError("argument 'charge_pe': charges must be >= 0 PE", "charge_pe")
        s = s.astype(np.int64)
        d = d.astype(np.int64)
        (geometry or load_geometry()).index(s, d)  # raises for unknown DOMs
        if mjd is not None:
            mjd = float(mjd)
            if not math.isfinite(mjd):
                raise InputError("argument 'mjd': must be finite", "mjd")
        for name, v in (("run_id", run_id), ("event_id", event_id)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise InputError(f"argument '{name}': expected an int, got {v!r}", name)
        for arr in (s, d, t, q):
            arr.setflags(write=False)
        return cls(s, d, t, q, int(run_id), int(event_id), mjd, dict(meta or {}))

    # --- derived quantities -------------------------------------------------------------
    @property
    def n_pulses(self) -> int:
        return int(self.time_ns.size)

    @property
    def time(self):
        """Event time as astropy Time (None if the MJD is unknown)."""
        if self.mjd is None:
            return None
        from astropy.time import Time

        return Time(self.mjd, format="mjd", scale="utc")

    def hit_doms(self, geometry: DetectorGeometry | None = None) -> dict[str, np.ndarray]:
        """Per hit DOM: ``string``, ``dom``, ``position`` (m, 3), ``first_time_ns``, ``charge_pe``
        (sum over the DOM's pulses), ordered by (string, dom)."""
        geo = geometry or load_geometry()
        key = self.string * 100 + self.dom
        uniq, inv = np.unique(key, return_inverse=True)
        first = np.full(uniq.size, np.inf)
        np.minimum.at(first, inv, self.time_ns)
        charge = np.zeros(uniq.size)
        np.add.at(charge, inv, self.charge_pe)
        s = uniq // 100
        d = uniq % 100
        return {
            "string": s,
            "dom": d,
            "position": geo.position(s, d),
            "first_time_ns": first,
            "charge_pe": charge,
        }

    # --- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": EVENT_FORMAT,
            "version": EVENT_VERSION,
            "run_id": self.run_id,
            "event_id": self.event_id,
            "mjd": self.mjd,
            "pulses": {
                "string": self.string.tolist(),
                "dom": self.dom.tolist(),
                "time_ns": self.time_ns.tolist(),
                "charge_pe": self.charge_pe.tolist(),
            },
            "meta": self.meta,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, obj: Any, *, geometry: DetectorGeometry | None = None) -> Event:
        if not isinstance(obj, dict):
            raise ParseError("expected a JSON object", EVENT_FORMAT)
        if obj.get("format") != EVENT_FORMAT:
            raise ParseError(f"'format' is {obj.get('format')!r}, expected {EVENT_FORMAT!r}", EVENT_FORMAT)
        if obj.get("version") != EVENT_VERSION:
            raise ParseError(f"unsupported version {obj.get('version')!r}", EVENT_FORMAT)
        pulses = obj.get("pulses")
        if not isinstance(pulses, dict):
            raise ParseError("missing 'pulses' object", EVENT_FORMAT)
        try:
            cols = [pulses[k] for k in ("string", "dom", "time_ns", "charge_pe")]
        except KeyError as exc:
            raise ParseError(f"'pulses' lacks {exc.args[0]!r}", EVENT_FORMAT) from None
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise ParseError("'meta' must be an object", EVENT_FORMAT)
        return cls.from_arrays(
            *cols,
            run_id=obj.get("run_id", 0),
            event_id=obj.get("event_id", 0),
            mjd=obj.get("mjd"),
            meta=meta,
            geometry=geometry,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON ({exc})", EVENT_FORMAT) from None
        return cls.from_dict(obj)

    def save(self, path: str | Path) -> Path:
        """Write the JSON atomically."""
        return atomic_write(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Event:
        p = Path(path)
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            raise DataFormatError("not a UTF-8 JSON event file", str(p)) from None
        return cls.from_json(text)
