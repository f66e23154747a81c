"""The normalised alert record shared by every GCN format, and its value checks.

Every parser in :mod:`icecore.alerts` converts units exactly once and fills an :class:`Alert`:
angles in degrees (J2000), energies in TeV, false-alarm rates per year, times in UTC.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, overload

from ..errors import ParseError

__all__ = [
    "Alert", "CoincidentEvent", "UTCInstant", "KINDS", "ALERT_TYPES", "SCHEMA_VERSION", "alert_schema", "alert_record",
]

#: Alert kinds produced by the parsers.
KINDS = ("gold", "bronze", "cascade", "lvk_nu_track_search", "hese", "nu_em_coinc")
#: Alert types (GCN Kafka vocabulary; GCN "subsequent" maps to "update").
ALERT_TYPES = ("initial", "update", "retraction")
#: Version of ``Alert.to_dict()`` layout (the ``schema_version`` key; see alert.schema.json).
SCHEMA_VERSION = 1

SECONDS_PER_YEAR = 365.25 * 86400.0  # Julian year, used for FAR Hz <-> yr^-1
_MJD_ORDINAL = date(1858, 11, 17).toordinal()
#: Largest integer any alert field may hold (sqlite INTEGER is signed 64-bit).
INT_MAX = 2**63 - 1
# Applied to the text *stripped and length-bounded* first, so no part of it can backtrack over
# a long run of spaces: linear in the input.
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d{0,12})?) ?(Z|UTC|UT|[+-]00:?00)?"
)
_ISO_MAX_LEN = 64


@dataclass(frozen=True)
class UTCInstant:
    """A UTC instant as (MJD day number, seconds of day); exact enough for alerts (1 µs)."""

    mjd_day: int
    sod: float

    @classmethod
    def from_iso(cls, text: Any, what: str) -> UTCInstant:
        if not isinstance(text, str):
            raise ParseError(f"{what} must be an ISO-8601 string, got {type(text).__name__}")
        stripped = text.strip()
        m = _ISO.fullmatch(stripped) if len(stripped) <= _ISO_MAX_LEN else None
        if not m:
            raise ParseError(f"{what} is not an ISO-8601 UTC time: {text[:60]!r}")
        y, mo, d, hh, mi = (int(m.group(i)) for i in range(1, 6))
        sec = float(m.group(6))
        if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mi < 60 and sec < 61.0 and 1900 <= y <= 2200):
            raise ParseError(f"{what} has an out-of-range field: {text[:60]!r}")
        try:
            day = date(y, mo, d).toordinal() - _MJD_ORDINAL
        except ValueError as exc:
            raise ParseError(f"{what} is not a valid date: {text[:60]!r}") from exc
        return cls(day, min(hh * 3600 + mi * 60 + sec, 86400.0 - 1e-6))

    @classmethod
    def from_tjd_sod(cls, tjd: float, sod: float, what: str) -> UTCInstant:
        """GCN truncated Julian day (TJD = MJD - 40000) and seconds of day."""
        if not (math.isfinite(tjd) and math.isfinite(sod)) or tjd != int(tjd):
            raise ParseError(f"{what}: TJD must be an integer and SOD finite (TJD={tjd!r}, SOD={sod!r})")
        if not (10000 <= tjd <= 40000) or not (0.0 <= sod < 86401.0):
            raise ParseError(f"{what}: TJD {tjd!r} / SOD {sod!r} out of range")
        return cls(int(tjd) + 40000, min(float(sod), 86400.0 - 1e-6))

    @property
    def mjd(self) -> float:
        return self.mjd_day + self.sod / 86400.0

    def iso(self) -> str:
        d = date.fromordinal(self.mjd_day + _MJD_ORDINAL)
        us = int(round(self.sod * 1e6))
        s, us = divmod(us, 1_000_000)
        h, s = divmod(s, 3600)
        mi, s = divmod(s, 60)
        return f"{d.isoformat()}T{h:02d}:{mi:02d}:{s:02d}.{us:06d}Z"


# --------------------------------------------------------------------------------------------
# value checks: every one raises ParseError naming the field
# --------------------------------------------------------------------------------------------


@overload
def to_float(value: Any, what: str, *, allow_none: Literal[False] = False) -> float: ...
@overload
def to_float(value: Any, what: str, *, allow_none: bool) -> float | None: ...
def to_float(value: Any, what: str, *, allow_none: bool = False) -> float | None:
    """A finite float from a JSON number or numeric string; ParseError otherwise."""
    if value is None:
        if allow_none:
            return None
        raise ParseError(f"{what} is missing")
    if isinstance(value, bool):
        raise ParseError(f"{what} must be a number, got a boolean")
    if isinstance(value, (int, float)):
        try:
            x = float(value)
        except OverflowError:  # an int beyond the float range
            raise ParseError(f"{what} is out of the floating-point range") from None
    elif isinstance(value, str):
        if len(value) > 100:
            raise ParseError(f"{what} is not a number: {value[:40]!r}... ({len(value)} characters)")
        try:
            x = float(value.strip())
        except ValueError:
            raise ParseError(f"{what} is not a number: {value[:40]!r}") from None
    else:
        raise ParseError(f"{what} must be a number, got {type(value).__name__}")
    return finite(x, what)


def finite(x: float, what: str) -> float:
    """``x`` when finite; ParseError otherwise (use after every unit conversion, which can overflow)."""
    if not math.isfinite(x):
        raise ParseError(f"{what} is not finite ({x!r})")
    return x


def finite_or_none(x: float | None, what: str) -> float | None:
    return None if x is None else finite(x, what)


@overload
def to_int(value: Any, what: str, *, allow_none: Literal[False] = False) -> int: ...
@overload
def to_int(value: Any, what: str, *, allow_none: bool) -> int | None: ...
def to_int(value: Any, what: str, *, allow_none: bool = False) -> int | None:
    """An integer in [-INT_MAX, INT_MAX] from a JSON int, integral float or digit string.

    The bound is checked here, at parse time: the index stores 64-bit integers, so a larger
    value must fail as a ParseError of its message, never later in storage.
    """
    if value is None:
        if allow_none:
            return None
        raise ParseError(f"{what} is missing")
    if isinstance(value, bool):
        raise ParseError(f"{what} must be an integer, got a boolean")
    if isinstance(value, int):
        n = int(value)
    elif isinstance(value, str) and len(value) <= 40 and _INT_TEXT.fullmatch(value.strip()):
        n = int(value.strip())
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        n = int(value)
    else:
        text = value[:40] if isinstance(value, str) else type(value).__name__
        raise ParseError(f"{what} must be an integer, got {text!r}")
    return check_int(n, what)


_INT_TEXT = re.compile(r"[+-]?\d{1,20}")


def check_int(n: int, what: str) -> int:
    """``n`` when |n| <= INT_MAX (a signed 64-bit integer); ParseError otherwise."""
    if not -INT_MAX <= n <= INT_MAX:
        raise ParseError(f"{what} is out of the 64-bit integer range")
    return n


def check_ra(x: float, what: str = "ra") -> float:
    if not (0.0 <= x <= 360.0):
        raise ParseError(f"{what} = {x!r} deg is outside [0, 360]")
    return 0.0 if x == 360.0 else x


def check_dec(x: float, what: str = "dec") -> float:
    if not (-90.0 <= x <= 90.0):
        raise ParseError(f"{what} = {x!r} deg is outside [-90, 90]")
    return x


def check_prob(x: float | None, what: str) -> float | None:
    if x is not None and not (0.0 <= x <= 1.0):
        raise ParseError(f"{what} = {x!r} is a probability outside [0, 1]")
    return x


def check_radius(x: float | None, what: str) -> float | None:
    if x is not None and not (0.0 <= x <= 180.0):
        raise ParseError(f"{what} = {x!r} deg is outside [0, 180]")
    return x


def check_nonneg(x: float | None, what: str) -> float | None:
    if x is not None and x < 0.0:
        raise ParseError(f"{what} = {x!r} must not be negative")
    return x


# --------------------------------------------------------------------------------------------
# the record
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoincidentEvent:
    """One neutrino of an LVK coincidence search (``coincident_events`` of the Kafka notice)."""

    event_dt_s: float | None = None
    ra_deg: float | None = None
    dec_deg: float | None = None
    error90_deg: float | None = None
    containment: float | None = None
    run_id: int | None = None
    event_id: int | None = None
    pval_generic: float | None = None
    pval_bayesian: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Alert:
    """One IceCube alert, normalised across the GCN formats.

    Units are fixed: degrees (J2000) for ``ra_deg``/``dec_deg`` and error radii, TeV for
    ``energy_tev``, events per year for ``far_per_year``, UTC for times. Missing values are
    ``None`` (never NaN). ``time`` is the neutrino (trigger) time, ``notice_time`` when GCN/IceCube
    issued the notice.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    source_format : str
        ``kafka_json``, ``voevent``, ``classic_text``, ``classic_binary``.
    error_rect_deg : dict or None
        Rectangle errors (90 %) ``{"ra_minus", "ra_plus", "dec_minus", "dec_plus"}`` in degrees,
        when the notice gives a rectangle instead of a circle.
    warnings : tuple of str
        Inconsistencies found and how they were resolved (e.g. a missing Dec sign).
    raw : bytes
        The message exactly as received.
    """

    kind: str
    source_format: str
    time_utc: UTCInstant
    event_name: str | None = None
    run_id: int | None = None
    event_id: int | None = None
    revision: int = 0
    alert_type: str = "initial"
    test: bool = False
    ra_deg: float | None = None
    dec_deg: float | None = None
    error50_deg: float | None = None
    error90_deg: float | None = None
    error_rect_deg: dict[str, float] | None = None
    systematic_included: bool | None = None
    energy_tev: float | None = None
    signalness: float | None = None
    far_per_year: float | None = None
    pval_generic: float | None = None
    pval_bayesian: float | None = None
    n_events_coincident: int | None = None
    coincident_events: tuple[CoincidentEvent, ...] = ()
    gw_superevent_id: str | None = None
    notice_time_utc: UTCInstant | None = None
    packet_type: int | None = None
    stream: int | None = None
    ivorn: str | None = None
    skymap_url: str | None = None
    topic: str | None = None
    warnings: tuple[str, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParseError(f"unknown alert kind {self.kind!r}")
        if self.alert_type not in ALERT_TYPES:
            raise ParseError(f"unknown alert type {self.alert_type!r}")
        if self.revision < 0:
            raise ParseError(f"revision {self.revision} is negative")
        if (self.ra_deg is None) != (self.dec_deg is None):
            raise ParseError("ra and dec must be given together")
        _check_numbers(self)
        for c in self.coincident_events:
            _check_numbers(c)
        if self.error_rect_deg is not None:
            for k, v in self.error_rect_deg.items():
                finite(v, f"error_rect_deg.{k}")

    # ---- convenience ----------------------------------------------------------------------
    @property
    def time(self):
        """Neutrino/trigger time as an astropy ``Time`` (UTC)."""
        from astropy.time import Time

        return Time(self.time_utc.mjd, format="mjd", scale="utc")

    @property
    def notice_time(self):
        """Notice creation time as an astropy ``Time`` (UTC), or None."""
        if self.notice_time_utc is None:
            return None
        from astropy.time import Time

        return Time(self.notice_time_utc.mjd, format="mjd", scale="utc")

    @property
    def mjd(self) -> float:
        """Trigger time as MJD (UTC)."""
        return self.time_utc.mjd

    @property
    def event_key(self) -> str:
        """Identity of the physical event across revisions (not yet sanitised for file names)."""
        if self.kind == "lvk_nu_track_search" and self.gw_superevent_id:
            return f"lvk_{self.gw_superevent_id}"
        if self.run_id is not None and self.event_id is not None:
            return f"{self.kind}_{self.run_id}_{self.event_id}"
        if self.event_name:
            return f"{self.kind}_{self.event_name}"
        return f"{self.kind}_{self.time_utc.iso()}"

    @property
    def raw_sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def to_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        """A JSON-ready dict that validates against ``icecore/data/alert.schema.json``.

        Times appear as ISO strings and MJD; with ``include_raw`` the raw message is added as
        text (``raw``) when it is UTF-8, else base64 (``raw_base64``).
        """
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "source_format": self.source_format,
            "event_key": self.event_key,
            "event_name": self.event_name,
            "run_id": self.run_id,
            "event_id": self.event_id,
            "revision": self.revision,
            "alert_type": self.alert_type,
            "test": self.test,
            "time": self.time_utc.iso(),
            "mjd": self.time_utc.mjd,
            "notice_time": None if self.notice_time_utc is None else self.notice_time_utc.iso(),
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "error50_deg": self.error50_deg,
            "error90_deg": self.error90_deg,
            "error_rect_deg": None if self.error_rect_deg is None else dict(self.error_rect_deg),
            "systematic_included": self.systematic_included,
            "energy_tev": self.energy_tev,
            "signalness": self.signalness,
            "far_per_year": self.far_per_year,
            "pval_generic": self.pval_generic,
            "pval_bayesian": self.pval_bayesian,
            "n_events_coincident": self.n_events_coincident,
            "coincident_events": [c.to_dict() for c in self.coincident_events],
            "gw_superevent_id": self.gw_superevent_id,
            "packet_type": self.packet_type,
            "stream": self.stream,
            "ivorn": self.ivorn,
            "skymap_url": self.skymap_url,
            "topic": self.topic,
            "warnings": list(self.warnings),
            "raw_sha256": self.raw_sha256,
        }
        if include_raw:
            try:
                d["raw"] = self.raw.decode("utf-8")
            except UnicodeDecodeError:
                d["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
        return d

    def replace(self, **changes: Any) -> Alert:
        return dataclasses.replace(self, **changes)


def _check_numbers(obj: Any) -> None:
    """Last line of defence behind the parsers: no float field is inf/NaN, no int leaves 64 bits.

    Every parser checks its values where it reads them; this catches a conversion a parser
    forgot (e.g. a unit scale that overflows to inf), so such a message fails as a ParseError
    and is dead-lettered instead of failing later in storage.
    """
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, float):
            finite(v, f.name)
        elif isinstance(v, int):
            check_int(v, f.name)


def alert_record(alert: Alert, significance: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record of an alert: :meth:`Alert.to_dict` plus its ``significance`` block (or None).

    This is the one place the record is built; :class:`~icecore.alerts.AlertStore` adds only
    ``stored_at`` (UNIX seconds) when it writes one.
    """
    rec = alert.to_dict()
    rec["significance"] = significance
    return rec


def alert_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of :meth:`Alert.to_dict` records, shipped with icecore."""
    import json
    from importlib.resources import files

    return json.loads(files("icecore").joinpath("data/alert.schema.json").read_text(encoding="utf-8"))
