"""LVK gravitational-wave alerts (igwn.gwalert Kafka JSON and LVK VOEvent) as one record.

The Kafka JSON carries its sky map as base64 FITS (``event.skymap``); a VOEvent names it by URL
(``skymap_fits``), which is resolved against a local folder or file (no network access here).
A RETRACTION becomes a record with ``retracted=True`` and no sky map: never a search.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.time import Time

from ..errors import ParseError
from .skymap import SkyMap, read_skymap

__all__ = ["LvkAlert", "parse_lvk_alert", "read_lvk_alert"]

_SUPEREVENT = re.compile(r"^[MTS]?S\d{6}[a-z]{1,3}$")


@dataclass(frozen=True)
class LvkAlert:
    """One LVK alert.

    Attributes
    ----------
    superevent_id : str
    alert_type : str
        ``preliminary``, ``initial``, ``update`` or ``retraction``.
    time_mjd : float or None
        GW trigger time (UTC MJD); None for a retraction.
    far_hz : float or None
        False-alarm rate [Hz].
    classification : dict
        e.g. {"BNS": .., "NSBH": .., "BBH": .., "Terrestrial": ..}.
    properties : dict
        e.g. {"HasNS": .., "HasRemnant": ..}.
    skymap_bytes : bytes or None
        The FITS sky map when it came embedded (Kafka) or was found locally (VOEvent).
    """

    superevent_id: str
    alert_type: str
    time_mjd: float | None
    notice_time_iso: str | None = None
    far_hz: float | None = None
    significant: bool | None = None
    group: str | None = None
    pipeline: str | None = None
    instruments: tuple[str, ...] = ()
    classification: dict[str, float] = field(default_factory=dict)
    properties: dict[str, float] = field(default_factory=dict)
    skymap_url: str | None = None
    skymap_bytes: bytes | None = field(default=None, repr=False)
    revision: int | None = None
    source_format: str = "kafka_json"

    @property
    def retracted(self) -> bool:
        return self.alert_type == "retraction"

    @property
    def is_test(self) -> bool:
        return self.superevent_id.startswith(("M", "T"))

    @property
    def p_terrestrial(self) -> float | None:
        v = self.classification.get("Terrestrial")
        return None if v is None else float(v)

    @property
    def time_iso(self) -> str | None:
        if self.time_mjd is None:
            return None
        return Time(self.time_mjd, format="mjd", scale="utc").isot + "Z"

    def skymap(self) -> SkyMap:
        """The alert's sky map (raises ParseError when the alert carries none)."""
        if self.skymap_bytes is None:
            raise ParseError(f"{self.superevent_id}: the alert has no sky map at hand (retraction, or a URL only: "
                             f"{self.skymap_url})")
        return read_skymap(self.skymap_bytes)

    @classmethod
    def from_record(cls, record: dict[str, Any], *, skymap_bytes: bytes | None = None) -> LvkAlert:
        """Rebuild an alert from its :meth:`to_dict` record (the record holds no sky map: give ``skymap_bytes``)."""
        sid, atype = _superevent_and_type(record)
        t = record.get("time_mjd")
        rev = record.get("revision")
        return cls(
            superevent_id=sid, alert_type=atype, time_mjd=None if t is None else float(t),
            notice_time_iso=record.get("notice_time"), far_hz=record.get("far_hz"),
            significant=record.get("significant"), group=record.get("group"), pipeline=record.get("pipeline"),
            instruments=tuple(record.get("instruments") or ()),
            classification=_floats(record.get("classification"), "classification"),
            properties=_floats(record.get("properties"), "properties"), skymap_url=record.get("skymap_url"),
            skymap_bytes=skymap_bytes, revision=None if rev is None else int(rev),
            source_format=str(record.get("source_format", "record")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "superevent_id": self.superevent_id, "alert_type": self.alert_type, "time_mjd": self.time_mjd,
            "time": self.time_iso, "notice_time": self.notice_time_iso, "far_hz": self.far_hz,
            "significant": self.significant, "group": self.group, "pipeline": self.pipeline,
            "instruments": list(self.instruments), "classification": dict(self.classification),
            "properties": dict(self.properties), "skymap_url": self.skymap_url,
            "has_skymap": self.skymap_bytes is not None, "revision": self.revision,
            "retracted": self.retracted, "test": self.is_test, "source_format": self.source_format,
        }


def _mjd(iso: Any, what: str) -> float:
    if not isinstance(iso, str):
        raise ParseError(f"{what}: expected an ISO time string")
    try:
        return float(Time(iso.rstrip("Z"), format="isot", scale="utc").mjd)
    except ValueError as exc:
        raise ParseError(f"{what}: not an ISO time ({exc})") from None


def _floats(d: Any, what: str) -> dict[str, float]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ParseError(f"{what} must be an object")
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[str(k)] = float(v)
    return out


def _superevent_and_type(obj: dict[str, Any]) -> tuple[str, str]:
    """The checked superevent id and lower-case alert type of a Kafka message or record."""
    sid = obj.get("superevent_id")
    if not isinstance(sid, str) or not _SUPEREVENT.match(sid):
        raise ParseError(f"superevent_id {sid!r} is not an LVK superevent id")
    atype = str(obj.get("alert_type", "")).lower()
    if atype not in ("preliminary", "initial", "update", "retraction", "earlywarning"):
        raise ParseError(f"alert_type {obj.get('alert_type')!r} is not an LVK alert type")
    return sid, atype


def _from_kafka(obj: dict[str, Any]) -> LvkAlert:
    sid, atype = _superevent_and_type(obj)
    if atype == "retraction":
        return LvkAlert(superevent_id=sid, alert_type="retraction", time_mjd=None,
                        notice_time_iso=obj.get("time_created"), source_format="kafka_json")
    ev = obj.get("event")
    if not isinstance(ev, dict):
        raise ParseError(f"{sid}: 'event' must be an object for a {atype} alert")
    sky = ev.get("skymap")
    skybytes = None
    if isinstance(sky, str) and sky:
        import base64

        try:
            skybytes = base64.b64decode(sky)
        except ValueError as exc:
            raise ParseError(f"{sid}: event.skymap is not base64 ({exc})") from None
    far = ev.get("far")
    return LvkAlert(
        superevent_id=sid, alert_type=atype, time_mjd=_mjd(ev.get("time"), "event.time"),
        notice_time_iso=obj.get("time_created"), far_hz=None if far is None else float(far),
        significant=ev.get("significant"), group=ev.get("group"), pipeline=ev.get("pipeline"),
        instruments=tuple(ev.get("instruments") or ()),
        classification=_floats(ev.get("classification"), "classification"),
        properties=_floats(ev.get("properties"), "properties"), skymap_bytes=skybytes, source_format="kafka_json",
    )


def _from_voevent(data: bytes, skymap_dir: Path | None) -> LvkAlert:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ParseError(f"not an XML VOEvent ({exc})") from None
    params: dict[str, str] = {}
    groups: dict[str, dict[str, str]] = {}
    what = root.find("What")
    if what is None:
        raise ParseError("VOEvent without <What>")
    for p in what.findall("Param"):
        params[p.get("name", "")] = p.get("value", "")
    for g in what.findall("Group"):
        gname = g.get("type") or g.get("name") or ""
        groups[gname] = {p.get("name", ""): p.get("value", "") for p in g.findall("Param")}
    sid = params.get("GraceID", "")
    if not _SUPEREVENT.match(sid):
        raise ParseError(f"GraceID {sid!r} is not an LVK superevent id")
    atype = params.get("AlertType", "").lower()
    if atype not in ("preliminary", "initial", "update", "retraction"):
        raise ParseError(f"AlertType {params.get('AlertType')!r} is not an LVK alert type")
    iso = root.findtext(".//WhereWhen//ISOTime")
    t = _mjd(iso, "ISOTime") if iso else None
    if atype == "retraction":
        return LvkAlert(superevent_id=sid, alert_type="retraction", time_mjd=t, source_format="voevent",
                        notice_time_iso=root.findtext("Who/Date"))
    url = groups.get("GW_SKYMAP", {}).get("skymap_fits")
    skybytes = None
    if url and skymap_dir is not None:
        cand = [skymap_dir] if skymap_dir.is_file() else [skymap_dir / Path(url).name]
        for c in cand:
            if c.is_file():
                skybytes = c.read_bytes()
    far = params.get("FAR")
    rev = params.get("Pkt_Ser_Num")
    cls = {k: float(v) for k, v in groups.get("Classification", {}).items() if _isfloat(v)}
    props = {k: float(v) for k, v in groups.get("Properties", {}).items() if _isfloat(v)}
    return LvkAlert(
        superevent_id=sid, alert_type=atype, time_mjd=t, notice_time_iso=root.findtext("Who/Date"),
        far_hz=float(far) if far and _isfloat(far) else None, group=params.get("Group"),
        pipeline=params.get("Pipeline"), instruments=tuple(x for x in params.get("Instruments", "").split(",") if x),
        classification=cls, properties=props, skymap_url=url, skymap_bytes=skybytes,
        revision=int(rev) if rev and rev.isdigit() else None, source_format="voevent",
    )


def _isfloat(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def parse_lvk_alert(data: bytes | str | dict[str, Any], *, skymap: str | os.PathLike[str] | None = None) -> LvkAlert:
    """Parse an LVK alert: igwn.gwalert JSON (bytes, str or dict) or a VOEvent (XML bytes/str).

    ``skymap`` is a local FITS file, or a folder holding the file the VOEvent's URL names.
    """
    if isinstance(data, dict):
        return _from_kafka(data)
    raw = data.encode() if isinstance(data, str) else bytes(data)
    head = raw.lstrip()[:1]
    if head == b"{":
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON ({exc})") from None
        alert = _from_kafka(obj)
        if alert.skymap_bytes is None and skymap is not None and Path(skymap).is_file():
            alert = _with_map(alert, Path(skymap).read_bytes())
        return alert
    if head == b"<":
        return _from_voevent(raw, None if skymap is None else Path(skymap))
    raise ParseError("not an LVK alert (expected JSON or VOEvent XML)")


def _with_map(alert: LvkAlert, data: bytes) -> LvkAlert:
    import dataclasses

    return dataclasses.replace(alert, skymap_bytes=data)


def read_lvk_alert(path: str | os.PathLike[str], *, skymap: str | os.PathLike[str] | None = None) -> LvkAlert:
    """Read an alert file (see :func:`parse_lvk_alert`)."""
    return parse_lvk_alert(Path(path).read_bytes(), skymap=skymap)



