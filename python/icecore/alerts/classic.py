"""GCN Classic IceCube notices: the text format (``KEY: value`` lines) and 160-byte binary packets.

Text notices (ICECUBE_ASTROTRACK_GOLD/BRONZE, ICECUBE_CASCADE) give the error radius in arcmin
for tracks and in degrees for cascades — the unit is read from the bracket after each value, so
both are converted correctly. Times are TJD (MJD − 40000) plus seconds of day (SOD).

Binary packets are 40 big-endian int32. The slots decoded here were established on the real
ICECUBE_CASCADE packet of IC240518A and cross-checked against its catalogue row and text notice:
[0] packet type, [4] event number, [5] TJD, [6] SOD×100, [7] RA×1e4 deg, [8] Dec×1e4 deg,
[9] log10(E/TeV)×1e4, [10] 50 % error×1e4 deg, [11] 90 % error×1e4 deg, [12] log10(FAR·yr)×1e4,
[15] event number (repeat), [16] stream, [23] run number, [26..27] cascade name suffix (ASCII,
little-endian words). The same slots are assumed for the GOLD (173) and BRONZE (174) packets.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, overload

from ..errors import ParseError
from .model import (
    Alert,
    UTCInstant,
    check_dec,
    check_nonneg,
    check_prob,
    check_ra,
    check_radius,
    finite,
    to_int,
)

__all__ = ["parse_classic_text", "parse_classic_fields", "parse_classic_binary", "BINARY_TYPES"]

#: IceCube classic packet types this module decodes.
BINARY_TYPES = {173: "gold", 174: "bronze", 176: "cascade"}
_KEY = re.compile(r"^([A-Z][A-Z0-9_]{1,30}):(.*)$")
# Every pattern below is linear: no two adjacent sub-patterns can match the same characters
# (``\d+(?:\.\d*)?``, not ``\d+\.?\d*``), digit runs are bounded, and values are cut to
# _MAX_VALUE characters before matching.
_NUM_UNIT = re.compile(
    r"\s*([-+]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,4})?)(?![\d.])\s*(?:\[([^\]]{0,200})\])?"
)
_DEG_SEX = re.compile(
    r"\s*([-+]?\d{1,3}(?:\.\d{0,12})?)d\s*\{\s*([-+]?)(\d{1,3})[dh]\s*(\d{1,2})[m']\s*(\d{1,2}(?:\.\d{0,6})?)[s\"]?\s*\}"
    r"\s*\(J2000\)"
)
_TJD = re.compile(r"\s*(\d{4,6})\s*TJD;.*?(\d{2})/(\d{2})/(\d{2})\s*\(yy/mm/dd\)")
_SOD = re.compile(r"\s*(\d{1,5}(?:\.\d{0,6})?)\s*SOD\s*\{\s*(\d{2}):(\d{2}):(\d{2}(?:\.\d{0,6})?)\s*\}\s*UT")
_OTHER_COORD = re.compile(r"\n\s*([-+]?\d{1,3}(?:\.\d{0,12})?)d")
_MAX_VALUE = 400  # characters of one value line looked at (real ones are < 80)
_MAX_LINES = 5000


def split_text_notice(text: str) -> dict[str, str]:
    """``KEY: value`` lines to a dict; continuation lines and repeated keys are joined with newlines."""
    if text.count("\n") > _MAX_LINES:
        raise ParseError(f"more than {_MAX_LINES} lines: not a GCN notice (they have < 100)", "classic_text")
    parts: dict[str, list[str]] = {}  # joined once at the end: linear in the text
    last: list[str] | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _KEY.match(line)
        if m:
            last = parts.setdefault(m.group(1), [])
            last.append(m.group(2).strip())
        elif line[:1].isspace() and last is not None:
            last.append(line.strip())
        else:
            raise ParseError(f"line {n} is neither 'KEY: value' nor a continuation: {line[:60]!r}", "classic_text")
    fields = {k: "\n".join(v) for k, v in parts.items()}
    if "NOTICE_TYPE" not in fields:
        raise ParseError("no NOTICE_TYPE line", "classic_text")
    return fields


def parse_classic_text(text: str, *, raw: bytes, topic: str | None = None) -> Alert:
    """Parse a GCN Classic text notice (full text)."""
    return parse_classic_fields(split_text_notice(text), raw=raw, topic=topic, fmt="classic_text")


@overload
def _value(fields: Mapping[str, Any], key: str, *, required: Literal[True] = True) -> str: ...
@overload
def _value(fields: Mapping[str, Any], key: str, *, required: bool) -> str | None: ...
def _value(fields: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    v = fields.get(key)
    if v is None:
        if required:
            raise ParseError(f"{key} is missing")
        return None
    if not isinstance(v, str):
        raise ParseError(f"{key} must be text, got {type(v).__name__}")
    return v


def _num_unit(fields: Mapping[str, Any], key: str, *, required: bool = False) -> tuple[float | None, str]:
    v = _value(fields, key, required=required)
    if v is None:
        return None, ""
    m = _NUM_UNIT.match(v[:_MAX_VALUE])
    if not m:
        raise ParseError(f"{key} has no leading number: {v[:50]!r}")
    x = float(m.group(1))
    if not math.isfinite(x):
        raise ParseError(f"{key} is not finite")
    return x, (m.group(2) or "").strip()


def _angle_to_deg(x: float | None, unit: str, key: str) -> float | None:
    if x is None:
        return None
    u = unit.lower()
    if u.startswith("arcmin"):
        x = x / 60.0
    elif u.startswith("arcsec"):
        x = x / 3600.0
    elif not u.startswith("deg"):
        raise ParseError(f"{key}: unknown angle unit {unit[:30]!r}")
    return check_radius(x, key)


def _energy_tev(x: float | None, unit: str, key: str) -> float | None:
    if x is None:
        return None
    scale = {"tev": 1.0, "gev": 1e-3, "pev": 1e3, "kev": 1e-9}.get(unit.lower())
    if scale is None:
        raise ParseError(f"{key}: unknown energy unit {unit[:30]!r}")
    return check_nonneg(finite(x * scale, f"{key} (converted to TeV)"), key)


def _coordinate(fields: Mapping[str, Any], key: str, warnings: list[str]) -> float:
    """Decimal J2000 value of SRC_RA/SRC_DEC, checked against its sexagesimal twin."""
    v = _value(fields, key)
    m = _DEG_SEX.match(v.split("\n", 1)[0][:_MAX_VALUE])
    if not m:
        raise ParseError(f"{key} J2000 line is not 'D.DDDDd {{..}} (J2000)': {v[:60]!r}")
    dec_val = float(m.group(1))
    sign = -1.0 if m.group(2) == "-" else 1.0
    a, b, c = float(m.group(3)), float(m.group(4)), float(m.group(5))
    if b >= 60 or c >= 60:
        raise ParseError(f"{key}: sexagesimal minutes/seconds out of range")
    sex = sign * (a + b / 60.0 + c / 3600.0) * (15.0 if key == "SRC_RA" else 1.0)
    tol = 0.02  # the {..} field is rounded to 1 arcsec (Dec) or 1 s = 0.004 deg (RA)
    if abs(dec_val - sex) <= tol:
        return dec_val
    if key == "SRC_DEC" and abs(abs(dec_val) - abs(sex)) <= tol:
        # Known defect (hermes docstring of IceCube-230823A): the decimal Dec lost its minus sign
        # while the sexagesimal field and the precessed (current, 1950) values keep it.
        others = [float(x) for x in _OTHER_COORD.findall(v[: 4 * _MAX_VALUE])]
        if all(math.copysign(1.0, o) == math.copysign(1.0, sex) for o in others):
            warnings.append(
                f"SRC_DEC decimal {dec_val:+.4f} disagrees in sign with its sexagesimal field "
                f"and precessed values; used {math.copysign(abs(dec_val), sex):+.4f}"
            )
            return math.copysign(abs(dec_val), sex)
    raise ParseError(f"{key}: decimal {dec_val} and sexagesimal {sex:.4f} disagree")


def _notice_date(text: str | None) -> UTCInstant | None:
    if text is None:
        return None
    try:
        dt = datetime.strptime(text.strip(), "%a %d %b %y %H:%M:%S UT")
    except ValueError:
        raise ParseError(f"NOTICE_DATE is not 'Www DD Mmm YY HH:MM:SS UT': {text[:40]!r}") from None
    return UTCInstant.from_iso(dt.strftime("%Y-%m-%dT%H:%M:%S"), "NOTICE_DATE")


def parse_classic_fields(fields: Mapping[str, Any], *, raw: bytes, topic: str | None, fmt: str) -> Alert:
    """Build an Alert from the fields of a classic text notice (upper-case keys, text values)."""
    try:
        return _parse_fields(fields, raw=raw, topic=topic, fmt=fmt)
    except ParseError as exc:
        if exc.source is None:
            raise ParseError(exc.reason, fmt) from None
        raise


def _parse_fields(fields: Mapping[str, Any], *, raw: bytes, topic: str | None, fmt: str) -> Alert:
    warnings: list[str] = []
    ntype = _value(fields, "NOTICE_TYPE").lower()
    if "icecube" not in ntype:
        raise ParseError(f"NOTICE_TYPE {ntype[:40]!r} is not an IceCube notice")
    kind = "gold" if "gold" in ntype else "bronze" if "bronze" in ntype else "cascade" if "cascade" in ntype else None
    if kind is None:
        raise ParseError(f"NOTICE_TYPE {ntype[:40]!r} is not GOLD, BRONZE or CASCADE")
    run = to_int(_value(fields, "RUN_NUM"), "RUN_NUM")
    evt = to_int(_value(fields, "EVENT_NUM"), "EVENT_NUM")
    rev = to_int(_value(fields, "REVISION", required=False) or "0", "REVISION")
    if run < 0 or evt < 0 or rev < 0:
        raise ParseError("RUN_NUM, EVENT_NUM and REVISION must not be negative")
    ra = check_ra(_coordinate(fields, "SRC_RA", warnings), "SRC_RA")
    dec = check_dec(_coordinate(fields, "SRC_DEC", warnings), "SRC_DEC")
    e90, u90 = _num_unit(fields, "SRC_ERROR", required=True)
    e50, u50 = _num_unit(fields, "SRC_ERROR50")
    if "90%" not in u90 and u90:
        raise ParseError(f"SRC_ERROR is not a 90% radius: [{u90[:40]}]")
    syst = None
    if "stat-only" in u90:
        syst = False
    elif "systematic" in u90:
        syst = True
    error90 = _angle_to_deg(e90, u90, "SRC_ERROR")
    error50 = _angle_to_deg(e50, u50, "SRC_ERROR50")
    # time: TJD + SOD, checked against the calendar date and hh:mm:ss printed beside them
    mt = _TJD.match(_value(fields, "DISCOVERY_DATE")[:_MAX_VALUE])
    ms = _SOD.match(_value(fields, "DISCOVERY_TIME")[:_MAX_VALUE])
    if not mt or not ms:
        raise ParseError("DISCOVERY_DATE/DISCOVERY_TIME not in 'N TJD; ... yy/mm/dd' / 'N SOD {hh:mm:ss} UT' form")
    hh, mm, ss = int(ms.group(2)), int(ms.group(3)), float(ms.group(4))
    sod = hh * 3600 + mm * 60 + ss
    if abs(sod - float(ms.group(1))) >= 1.0:
        raise ParseError(f"DISCOVERY_TIME: SOD {ms.group(1)} disagrees with {hh:02d}:{mm:02d}:{ss:05.2f}")
    t = UTCInstant.from_tjd_sod(float(mt.group(1)), sod, "DISCOVERY")
    cal = UTCInstant.from_iso(f"20{mt.group(2)}-{mt.group(3)}-{mt.group(4)}T00:00:00", "DISCOVERY_DATE")
    if cal.mjd_day != t.mjd_day:
        raise ParseError(f"DISCOVERY_DATE: TJD {mt.group(1)} disagrees with the calendar date "
                         f"20{mt.group(2)}-{mt.group(3)}-{mt.group(4)}")
    energy, ue = _num_unit(fields, "ENERGY")
    energy = _energy_tev(energy, ue, "ENERGY")
    sig, _ = _num_unit(fields, "SIGNALNESS")
    check_prob(sig, "SIGNALNESS")
    far, uf = _num_unit(fields, "FAR")
    if far is not None:
        if uf.lower() not in ("yr^-1", "1/yr", "yr-1", "per year", ""):
            raise ParseError(f"FAR: unknown unit {uf[:20]!r}")
        check_nonneg(far, "FAR")
    name = _value(fields, "EVENT_NAME", required=False)
    if name is not None:
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,80}", name):
            raise ParseError(f"EVENT_NAME {name[:40]!r} has unexpected characters")
    comments = (_value(fields, "COMMENTS", required=False) or "").lower()
    retract = "retract" in comments
    url = _value(fields, "SKYMAP_FITS_URL", required=False)
    stream = _value(fields, "STREAM", required=False)
    return Alert(
        kind=kind, source_format=fmt, time_utc=t, event_name=name, run_id=run, event_id=evt,
        revision=rev, alert_type="retraction" if retract else ("update" if rev > 0 else "initial"),
        test="test" in ntype, ra_deg=ra, dec_deg=dec, error50_deg=error50, error90_deg=error90,
        systematic_included=syst, energy_tev=energy, signalness=sig, far_per_year=far,
        notice_time_utc=_notice_date(_value(fields, "NOTICE_DATE", required=False)),
        stream=None if stream is None else to_int(stream, "STREAM"),
        skymap_url=None if url is None else url.strip(), topic=topic, warnings=tuple(warnings), raw=raw,
    )


def parse_classic_binary(data: bytes, *, topic: str | None = None) -> Alert:
    """Parse a 160-byte GCN socket packet of an IceCube GOLD/BRONZE/CASCADE notice."""
    if len(data) != 160:
        raise ParseError(f"a GCN binary packet has 160 bytes, got {len(data)}", "classic_binary")
    w = struct.unpack(">40i", data)
    kind = BINARY_TYPES.get(w[0])
    if kind is None:
        raise ParseError(f"packet type {w[0]} is not an IceCube GOLD/BRONZE/CASCADE packet", "classic_binary")
    try:
        if w[4] != w[15]:
            raise ParseError(f"event number slots disagree ({w[4]} vs {w[15]})")
        if w[4] < 0 or w[23] < 0:
            raise ParseError("negative run or event number")
        t = UTCInstant.from_tjd_sod(float(w[5]), w[6] / 100.0, "packet time")
        ra = check_ra(w[7] / 1e4, "RA")
        dec = check_dec(w[8] / 1e4, "Dec")
        e50 = check_radius(w[10] / 1e4, "error50")
        e90 = check_radius(w[11] / 1e4, "error90")
        if not (-40000 <= w[9] <= 100000 and -100000 <= w[12] <= 100000):
            raise ParseError(f"log10 energy/FAR slots out of range ({w[9]}, {w[12]})")
        energy = 10.0 ** (w[9] / 1e4)
        far = 10.0 ** (w[12] / 1e4)
        name = None
        if kind == "cascade":
            suffix = struct.pack("<2i", w[26], w[27]).split(b"\0", 1)[0]
            if re.fullmatch(rb"\d{6}[a-z]{1,2}", suffix):
                name = "IceCubeCascade-" + suffix.decode("ascii")
        return Alert(
            kind=kind, source_format="classic_binary", time_utc=t, event_name=name, run_id=w[23],
            event_id=w[4], revision=0, ra_deg=ra, dec_deg=dec, error50_deg=e50, error90_deg=e90,
            energy_tev=energy, far_per_year=far, packet_type=w[0], stream=w[16], topic=topic, raw=bytes(data),
        )
    except ParseError as exc:
        raise ParseError(exc.reason, "classic_binary") from None
