"""VOEvent XML (v1.1 and v2.0) of the IceCube/AMON packet types.

GOLD 173, BRONZE 174, CASCADE 176, NU_EM coincidence 172 and legacy HESE 158. Parsed with the
standard library's expat-based ElementTree after refusing anything with a DTD or entity
declaration (the defusedxml policy), non-UTF-8 encodings and oversized messages.

Consistency checks become warnings on the record: the IVORN and AMON_ID repeat run, event,
time and revision, and Event_TJD/Event_SOD repeat the ISOTime; a hand-edited notice disagrees.
``parse(..., strict=True)`` turns those warnings into a :class:`~icecore.errors.ParseError`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..errors import ParseError
from .model import (
    Alert,
    UTCInstant,
    check_dec,
    check_int,
    check_nonneg,
    check_prob,
    check_ra,
    check_radius,
    finite,
    to_float,
    to_int,
)

__all__ = ["parse_voevent", "PACKET_KINDS"]

#: GCN packet type -> alert kind.
PACKET_KINDS = {173: "gold", 174: "bronze", 176: "cascade", 172: "nu_em_coinc", 158: "hese"}
_NS = {"http://www.ivoa.net/xml/VOEvent/v1.1": "1.1", "http://www.ivoa.net/xml/VOEvent/v2.0": "2.0"}
_IVORN = re.compile(
    r"#ICECUBE_[A-Za-z]+(?:_[A-Za-z]+)*?_Event(\d{4}-\d{2}-\d{2}T[\d:.]{1,20})_(\d{1,20})_(\d{1,20})_(\d{1,20})_(\d{1,20})$"
)
_IVORN_MAX_LEN = 512
_DECL_ENC = re.compile(rb"\s*<\?xml[^>]{0,200}?encoding\s*=\s*['\"]([A-Za-z0-9_.-]{1,40})['\"]")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flag(value: str | None, what: str) -> bool:
    if value is None:
        return False
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ParseError(f"{what} flag {value[:20]!r} is not true/false")


_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16BE"), (b"\xff\xfe", "UTF-16LE"),
)
# XML 1.0 appendix F: how a parser guesses the encoding of a document without a BOM
_NO_BOM = (
    (b"\x00\x00\x00<", "UTF-32BE"), (b"<\x00\x00\x00", "UTF-32LE"),
    (b"\x00<\x00?", "UTF-16BE"), (b"<\x00?\x00", "UTF-16LE"), (b"\x4c\x6f\xa7\x94", "EBCDIC"),
)


def _xml_encoding(data: bytes) -> str:
    """The encoding an XML parser would read ``data`` in: BOM, then byte pattern, then declaration."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    for head, name in _NO_BOM:
        if data.startswith(head):
            return name
    if b"\x00" in data[:4096]:
        return "UTF-16/32 (NUL bytes)"
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    m = _DECL_ENC.match(body[:200])
    return m.group(1).decode("ascii").upper() if m else "UTF-8"


def safe_xml_root(data: bytes) -> ET.Element:
    """Parse XML refusing DTDs, entity declarations and any encoding but UTF-8.

    The encoding is decided first, the way an XML parser would (byte-order mark, the XML 1.0
    appendix-F byte patterns such as UTF-16LE without a BOM, then the declaration); only UTF-8
    (or its ASCII subset) is accepted, the text is decoded, the DTD/entity check runs on that
    text, and the parser is told to read UTF-8 whatever the document claims. So no encoding
    trick can hide a ``<!DOCTYPE`` or ``<!ENTITY`` from the check.
    """
    enc = _xml_encoding(data)
    if enc.lower() not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise ParseError(f"XML encoding {enc[:30]!r} is not accepted (UTF-8 only)", "voevent")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"XML is not valid UTF-8 ({exc.reason} at byte {exc.start})", "voevent") from None
    if "\x00" in text:
        raise ParseError("XML contains NUL characters", "voevent")
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise ParseError("DTD or entity declarations are not accepted", "voevent")
    try:
        parser = ET.XMLParser(encoding="utf-8")
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        raise ParseError(f"malformed XML: {exc}", "voevent") from None


def parse_voevent(data: bytes, *, topic: str | None = None) -> Alert:
    """Parse an IceCube/AMON VOEvent (bytes of the XML document)."""
    root = safe_xml_root(data)
    try:
        return _parse_root(root, data, topic)
    except ParseError as exc:
        if exc.source is None:
            raise ParseError(exc.reason, "voevent") from None
        raise


class _What:
    """The ``<What>`` section: top-level Params (value, unit) and grouped Params (value)."""

    def __init__(self, root: ET.Element) -> None:
        what = root.find("What")
        if what is None:
            raise ParseError("no <What> section")
        self.params: dict[str, tuple[str, str]] = {}
        self.groups: dict[str, dict[str, str]] = {}
        for p in what.iterfind("Param"):
            name = p.get("name")
            if name is not None:
                self.params[name] = (p.get("value") or "", (p.get("unit") or "").strip())
        for g in what.iterfind("Group"):
            gd = self.groups.setdefault(g.get("name") or "", {})
            for p in g.iterfind("Param"):
                pname = p.get("name")
                if pname is not None:
                    gd[pname] = p.get("value") or ""

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def value(self, name: str, default: str | None = None) -> str | None:
        return self.params[name][0] if name in self.params else default

    def num(self, name: str) -> float | None:
        return None if name not in self.params else to_float(self.params[name][0], f"Param {name}")

    def unit(self, name: str) -> str:
        return self.params[name][1] if name in self.params else ""


@dataclass(frozen=True)
class _WhereWhen:
    iso: str
    time: UTCInstant
    ra_deg: float
    dec_deg: float
    error_radius: str | None
    notice: UTCInstant | None


def _where_when(root: ET.Element) -> _WhereWhen:
    wherewhen = root.find("WhereWhen")
    if wherewhen is None:
        raise ParseError("no <WhereWhen> section")

    def text(tag: str) -> str | None:
        el = next(wherewhen.iter(tag), None)
        return None if el is None else (el.text or "").strip()

    iso = text("ISOTime")
    if iso is None:
        raise ParseError("no ISOTime")
    pos = next(wherewhen.iter("Position2D"), None)
    pos_unit = "deg" if pos is None else (pos.get("unit") or "deg").strip()
    if pos_unit != "deg":
        raise ParseError(f"Position2D unit {pos_unit[:20]!r} is not deg")
    t = UTCInstant.from_iso(iso, "ISOTime")
    ra = check_ra(to_float(text("C1"), "C1 (RA)"), "C1 (RA)")
    dec = check_dec(to_float(text("C2"), "C2 (Dec)"), "C2 (Dec)")
    err_radius = text("Error2Radius")
    notice = None
    date_el = root.find("Who/Date")
    if date_el is not None and date_el.text:
        notice = UTCInstant.from_iso(date_el.text.strip(), "Who/Date")
    return _WhereWhen(iso, t, ra, dec, err_radius, notice)


def _seconds_apart(a: UTCInstant, b: UTCInstant) -> float:
    return abs((a.mjd_day - b.mjd_day) * 86400.0 + (a.sod - b.sod))


def _identity(kind: str, w: _What, warnings: list[str]) -> tuple[int | None, int | None, str | None]:
    """(run, event, name) from the Params of each packet type."""
    run = evt = None
    name = None
    if kind in ("gold", "bronze", "cascade"):
        run = to_int(w.value("run_id"), "Param run_id")
        evt = to_int(w.value("event_id"), "Param event_id")
        if run < 0 or evt < 0:
            raise ParseError("run_id and event_id must not be negative")
        if "event_name" in w:
            name = (w.value("event_name") or "").strip()
            if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,80}", name):
                raise ParseError(f"event_name {name[:40]!r} has unexpected characters")
        if "AMON_ID" in w:
            amon = to_int(w.value("AMON_ID"), "Param AMON_ID")
            if amon != run * 100_000_000 + evt:
                warnings.append(f"AMON_ID {amon} does not encode run_id {run} / event_id {evt}")
    elif kind == "nu_em_coinc":
        evt = to_int(w.value("Event_ID"), "Param Event_ID")
        date_id = (w.value("Event_Date") or "").strip()
        if not re.fullmatch(r"\d{6}[A-Za-z]{0,2}", date_id):
            raise ParseError(f"Event_Date {date_id[:20]!r} is not YYMMDD[x]")
        name = f"NU_EM_{date_id}"
    return run, evt, name


def _check_ivorn(ivorn: str, mine: dict[str, int | None], ww: _WhereWhen, warnings: list[str]) -> None:
    """Warn where the IVORN's stream, run, event, revision or time disagree with the Params."""
    m = _IVORN.search(ivorn) if len(ivorn) <= _IVORN_MAX_LEN else None
    if not m:
        return
    iv_time = UTCInstant.from_iso(m.group(1), "IVORN time")
    iv = {k: check_int(int(m.group(i)), f"IVORN {k}") for i, k in enumerate(("Stream", "run_id", "event_id", "Rev"), 2)}
    for k, v in iv.items():
        if mine[k] is not None and mine[k] != v:
            warnings.append(f"IVORN says {k} {v}, Param says {mine[k]}")
    if _seconds_apart(iv_time, ww.time) > 1.0:
        warnings.append(f"IVORN time {m.group(1)} disagrees with ISOTime {ww.iso}")


def _flags(role: str, w: _What) -> tuple[bool, bool]:
    """(test, retraction)."""
    trig = w.groups.get("Trigger_ID", {})
    test = role == "test" or _flag(trig.get("Test"), "Test") or _flag(trig.get("InternalTest"), "InternalTest")
    retract = _flag(trig.get("Retraction"), "Retraction") or _flag(trig.get("RetractFlag"), "RetractFlag")
    if "retraction" in w:
        retract = retract or _flag(w.value("retraction"), "retraction")
    return test, retract


def _error_radii(kind: str, w: _What, ww: _WhereWhen) -> tuple[float | None, float | None, bool | None]:
    """(error90, error50, systematic_included) in degrees."""
    e90 = e50 = None
    for key90, key50 in (("src_error_90", "src_error_50"), ("src_err_90", "src_err_50")):
        if key90 in w:
            e90 = _angle(w.num(key90), w.unit(key90), key90)
            e50 = _angle(w.num(key50), w.unit(key50), key50) if key50 in w else None
            break
    if e90 is None and ww.error_radius is not None and kind == "hese":
        e90 = check_radius(to_float(ww.error_radius, "Error2Radius"), "Error2Radius")
    syst = None
    if kind in ("gold", "bronze"):
        syst = False  # AMON track errors are statistical only (VOEvent Param descriptions)
    elif kind == "cascade":
        syst = True
    return e90, e50, syst


def _quantities(kind: str, w: _What, warnings: list[str]) -> tuple[float | None, float | None, float | None]:
    """(energy [TeV], signalness, FAR [yr^-1]) with their units checked."""
    energy = None
    if "energy" in w:
        energy = _energy(w.num("energy"), w.unit("energy"), "energy")
        if w.unit("energy").lower() != "tev":
            warnings.append(f"energy given in {w.unit('energy')}, converted to TeV")
    sig = check_prob(w.num("signalness"), "Param signalness")
    if sig is not None and w.unit("signalness") not in ("dn", ""):
        warnings.append(f"signalness carries unit {w.unit('signalness')!r}; read as a probability")
    far = w.num("FAR")
    if far is not None:
        u = w.unit("FAR").lower()
        if u not in ("yr^-1", "1/yr", "yr-1"):
            raise ParseError(f"FAR unit {u[:20]!r} is not yr^-1")
        check_nonneg(far, "FAR")
        if kind in ("gold", "bronze") and far > 10.0:
            warnings.append(f"FAR {far} /yr is far above the GOLD/BRONZE thresholds: probably a test packet")
    return energy, sig, far


def _parse_root(root: ET.Element, raw: bytes, topic: str | None) -> Alert:
    if _local(root.tag) != "VOEvent":
        raise ParseError(f"root element is <{_local(root.tag)[:30]}>, not <VOEvent>")
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    version = _NS.get(ns)
    if version is None or root.get("version") not in ("1.1", "2.0"):
        raise ParseError(f"unsupported VOEvent namespace/version {ns[:60]!r} / {root.get('version')!r}")
    ivorn = root.get("ivorn") or ""
    role = (root.get("role") or "observation").lower()
    warnings: list[str] = []
    w = _What(root)
    ptype = to_int(w.value("Packet_Type"), "Packet_Type")
    kind = PACKET_KINDS.get(ptype)
    if kind is None:
        raise ParseError(f"Packet_Type {ptype} is not an IceCube/AMON neutrino type {sorted(PACKET_KINDS)}")
    ww = _where_when(root)
    tjd, sod = w.num("Event_TJD"), w.num("Event_SOD")
    if tjd is not None and sod is not None:
        t2 = UTCInstant.from_tjd_sod(tjd, sod, "Event_TJD/Event_SOD")
        if _seconds_apart(t2, ww.time) > 1.0:
            warnings.append(f"Event_TJD/Event_SOD ({t2.iso()}) disagree with ISOTime ({ww.time.iso()}); ISOTime used")
    run, evt, name = _identity(kind, w, warnings)
    stream = to_int(w.value("Stream"), "Param Stream") if "Stream" in w else None
    rev = to_int(w.value("Rev", "0"), "Param Rev")
    if rev < 0:
        raise ParseError(f"Rev {rev} is negative")
    if kind in ("gold", "bronze", "cascade"):
        _check_ivorn(ivorn, {"Stream": stream, "run_id": run, "event_id": evt, "Rev": rev}, ww, warnings)
    test, retract = _flags(role, w)
    e90, e50, syst = _error_radii(kind, w, ww)
    energy, sig, far = _quantities(kind, w, warnings)
    url = w.value("skymap_fits")
    return Alert(
        kind=kind, source_format="voevent", time_utc=ww.time, event_name=name, run_id=run, event_id=evt,
        revision=rev, alert_type="retraction" if retract else ("update" if rev > 0 else "initial"),
        test=test, ra_deg=ww.ra_deg, dec_deg=ww.dec_deg, error50_deg=e50, error90_deg=e90, systematic_included=syst,
        energy_tev=energy, signalness=sig, far_per_year=far, notice_time_utc=ww.notice, packet_type=ptype,
        stream=stream, ivorn=ivorn[:300] or None, skymap_url=url or None, topic=topic,
        warnings=tuple(warnings), raw=raw,
    )


def _angle(x: float | None, u: str, what: str) -> float | None:
    if x is None:
        return None
    u = u.lower()
    if u == "arcmin":
        x = x / 60.0
    elif u == "arcsec":
        x = x / 3600.0
    elif u not in ("deg", "degree", "degrees"):
        raise ParseError(f"Param {what}: unknown angle unit {u[:20]!r}")
    return check_radius(x, f"Param {what}")


def _energy(x: float | None, u: str, what: str) -> float | None:
    if x is None:
        return None
    scale = {"tev": 1.0, "gev": 1e-3, "pev": 1e3}.get(u.lower())
    if scale is None:
        raise ParseError(f"Param {what}: unknown energy unit {u[:20]!r}")
    return check_nonneg(finite(x * scale, f"Param {what} (converted to TeV)"), f"Param {what}")


