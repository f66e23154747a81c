"""GCN Kafka JSON notices of IceCube (current and older layouts).

Topics: ``gcn.notices.icecube.gold_bronze_track_alerts`` and
``gcn.notices.icecube.lvk_nu_track_search``. Older layouts handled: the v1.0.0 drafts
(``signalness``, ``id: [run, event]``, ``uncertainty_shape`` circle/rectangle,
flat per-event ``ra``/``dec``/``ra_uncertainty``, ``ref_id``/``ref_ID``,
``most_likely_direction``/``most_probable_direction``), the classic-AMON JSON of gcn-schema PR 161
(energy in keV, FAR in Hz, track errors left in arcmin). (A classic text notice in dict form, as
hermes passes it on, is recognised by :func:`icecore.alerts.parse` and read by :mod:`.classic`.)

:func:`to_kafka_json` writes an alert back as a notice of the gold/bronze topic.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InputError, ParseError
from .model import (
    SECONDS_PER_YEAR,
    Alert,
    CoincidentEvent,
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

__all__ = ["parse_kafka_json", "to_kafka_json", "TOPIC_GOLD_BRONZE", "TOPIC_LVK", "SINGLE_NEUTRINO_SCHEMA"]

logger = logging.getLogger(__name__)

TOPIC_GOLD_BRONZE = "gcn.notices.icecube.gold_bronze_track_alerts"
TOPIC_LVK = "gcn.notices.icecube.lvk_nu_track_search"
_RUN_EVENT = re.compile(r"^\s*(\d{1,12})[_ ](\d{1,12})\s*$")
_SUPEREVENT = re.compile(r"^[A-Za-z]{1,3}\d{6}[a-z]{1,4}$")


def _get(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _str(value: Any, what: str, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise ParseError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > 200:
        raise ParseError(f"{what} is too long ({len(value)} characters)")
    return value.strip()


def _bool(value: Any, what: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise ParseError(f"{what} must be a boolean, got {type(value).__name__}")


def _ids(value: Any, what: str = "id") -> tuple[int | None, int | None]:
    """``["RUN_EVENT"]`` (current) or ``["RUN", "EVENT"]`` (v1.0.0) -> (run, event)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(f"{what} must be a string or a list of strings")
    if len(value) == 1:
        m = _RUN_EVENT.match(value[0])
        if not m:
            raise ParseError(f"{what} {value[0][:40]!r} is not RUN_EVENT")
        return int(m.group(1)), int(m.group(2))
    if len(value) == 2:
        return to_int(value[0], f"{what}[0] (run)"), to_int(value[1], f"{what}[1] (event)")
    raise ParseError(f"{what} has {len(value)} entries, expected 1 or 2")


def _position(d: Mapping[str, Any], what: str) -> tuple[float | None, float | None]:
    ra = to_float(d.get("ra"), f"{what}.ra", allow_none=True)
    dec = to_float(d.get("dec"), f"{what}.dec", allow_none=True)
    if (ra is None) != (dec is None):
        raise ParseError(f"{what}: ra and dec must be given together")
    if ra is None or dec is None:
        return None, None
    return check_ra(ra, f"{what}.ra"), check_dec(dec, f"{what}.dec")


def _errors(d: Mapping[str, Any], what: str) -> tuple[float | None, float | None, dict[str, float] | None]:
    """(error50, error90, rectangle) in degrees from any of the JSON layouts."""
    containment = to_float(d.get("containment_probability"), f"{what}.containment_probability", allow_none=True)
    check_prob(containment, f"{what}.containment_probability")
    e50 = e90 = None
    rect = None
    if "ra_dec_error" in d and d["ra_dec_error"] is not None:
        err = check_radius(to_float(d["ra_dec_error"], f"{what}.ra_dec_error"), f"{what}.ra_dec_error")
        if containment is None or abs(containment - 0.9) < 1e-6:
            e90 = err
        elif abs(containment - 0.5) < 1e-6:
            e50 = err
        else:
            raise ParseError(f"{what}: unsupported containment_probability {containment}")
    shape = d.get("uncertainty_shape")
    if shape is not None:
        if shape not in ("circle", "rectangle"):
            raise ParseError(f"{what}.uncertainty_shape {str(shape)[:30]!r} is not circle/rectangle")
        rau = d.get("ra_uncertainty")
        if not isinstance(rau, list) or not rau:
            raise ParseError(f"{what}.ra_uncertainty must be a non-empty list")
        vals = [to_float(v, f"{what}.ra_uncertainty") for v in rau]
        if shape == "circle":
            if len(vals) != 1:
                raise ParseError(f"{what}.ra_uncertainty of a circle must have one entry")
            e90 = check_radius(vals[0], f"{what}.ra_uncertainty")
        else:
            decu = d.get("dec_uncertainty")
            if len(vals) != 2 or not isinstance(decu, list) or len(decu) != 2:
                raise ParseError(f"{what}: a rectangle needs two ra_uncertainty and two dec_uncertainty values")
            dvals = [to_float(v, f"{what}.dec_uncertainty") for v in decu]
            rect = {
                "ra_minus": abs(vals[0]), "ra_plus": abs(vals[1]),
                "dec_minus": abs(dvals[0]), "dec_plus": abs(dvals[1]),
            }
            for k, v in rect.items():
                check_radius(v, f"{what}.{k}")
    return e50, e90, rect


def _kind_from_text(*texts: Any) -> str | None:
    for t in texts:
        if isinstance(t, str):
            low = t.lower()
            if "gold" in low:
                return "gold"
            if "bronze" in low:
                return "bronze"
            if "cascade" in low:
                return "cascade"
    return None


def parse_kafka_json(obj: Any, *, topic: str | None, raw: bytes) -> Alert:
    """Parse a decoded JSON object (dict) from one of the IceCube Kafka topics."""
    if not isinstance(obj, dict):
        raise ParseError(f"a JSON notice must be an object, got {type(obj).__name__}", "json")
    try:
        if topic == TOPIC_LVK or "coincident_events" in obj or "pval_generic" in obj:
            return _parse_lvk(obj, topic=topic, raw=raw)
        return _parse_track(obj, topic=topic, raw=raw)
    except ParseError as exc:
        if exc.source is None:
            raise ParseError(exc.reason, "json") from None
        raise


def _parse_track(d: dict, *, topic: str | None, raw: bytes) -> Alert:
    warnings: list[str] = []
    pr161 = d.get("mission") == "AMON" and "notice_type" in d
    kind = _kind_from_text(d.get("pipeline"), d.get("notice_type"), d.get("additional_info"))
    if kind is None and isinstance(d.get("notice_type"), str):
        nt = d["notice_type"].lower()
        kind = {"hese": "hese", "neutrino-em coincidence": "nu_em_coinc"}.get(nt)
    if kind is None:
        raise ParseError("cannot tell gold/bronze/cascade: no pipeline, notice_type or additional_info naming it")
    if topic == TOPIC_GOLD_BRONZE and kind not in ("gold", "bronze"):
        raise ParseError(f"topic {topic} carries gold/bronze alerts, message says {kind}")
    run, evt = _ids(d.get("id"))
    name = _str(d.get("event_name"), "event_name")
    t = UTCInstant.from_iso(d.get("trigger_time"), "trigger_time")
    nt_raw = d.get("alert_datetime")
    notice = UTCInstant.from_iso(nt_raw, "alert_datetime") if nt_raw is not None else None
    ra, dec = _position(d, "notice")
    e50, e90, rect = _errors(d, "notice")
    energy = to_float(_get(d, "nu_energy", "energy"), "nu_energy", allow_none=True)
    far = to_float(d.get("far"), "far", allow_none=True)
    if far is not None:
        check_nonneg(far, "far")
        far = finite(far * SECONDS_PER_YEAR, "far (converted from Hz to per year)")  # JSON FAR is in Hz
    if pr161:
        # gcn-schema PR 161 (never merged) converted classic AMON text: energy TeV->keV and
        # FAR yr^-1 -> Hz, but kept the track error radius in arcmin as the text notice has it.
        e50 = to_float(d.get("ra_dec_error_50"), "ra_dec_error_50", allow_none=True)
        if kind in ("gold", "bronze") and e90 is not None:
            e90 = e90 / 60.0
            e50 = None if e50 is None else e50 / 60.0
            warnings.append("PR161 AMON JSON: track error radii taken as arcmin (unconverted) and divided by 60")
        if energy is not None:
            if energy > 1e6:
                energy = finite(energy * 1e-9, "energy (keV -> TeV)")
            else:
                warnings.append("PR161 AMON JSON: energy too small for keV, taken as TeV")
    check_radius(e50, "ra_dec_error_50")
    energy = check_nonneg(energy, "nu_energy")
    sig = to_float(_get(d, "p_astro", "signalness"), "p_astro/signalness", allow_none=True)
    check_prob(sig, "p_astro/signalness")
    atype = d.get("alert_type", "initial")
    if atype == "subsequent":
        atype = "update"
    if atype not in ("initial", "update", "retraction"):
        raise ParseError(f"alert_type {str(atype)[:30]!r} is not initial/subsequent/update/retraction")
    rec = to_int(d.get("record_number"), "record_number", allow_none=True)
    if rec is not None and rec < 1:
        raise ParseError(f"record_number {rec} must be >= 1")
    revision = 0 if rec is None else rec - 1
    tense = d.get("alert_tense")
    if tense is not None and not isinstance(tense, str):
        raise ParseError("alert_tense must be a string")
    test = tense in ("test", "injection", "commanded")
    url = _str(d.get("healpix_url"), "healpix_url")
    return Alert(
        kind=kind, source_format="kafka_json", time_utc=t, event_name=name, run_id=run, event_id=evt,
        revision=revision, alert_type=atype, test=test, ra_deg=ra, dec_deg=dec, error50_deg=e50,
        error90_deg=e90, error_rect_deg=rect,
        systematic_included=_bool(d.get("systematic_included"), "systematic_included"),
        energy_tev=energy, signalness=sig, far_per_year=far, notice_time_utc=notice,
        skymap_url=url, topic=topic, warnings=tuple(warnings), raw=raw,
    )


def _lvk_revision(d: dict, ref: str) -> int:
    """The LVK alert number of ``reference['gcn.notices.LVK.alert']`` (0 when absent)."""
    reference = d.get("reference")
    if reference is None:
        return 0
    if not isinstance(reference, dict):
        raise ParseError("reference must be an object")
    r = reference.get("gcn.notices.LVK.alert")
    if isinstance(r, str):
        m = re.match(r"^(\S+?)-(\d{1,6})-", r)
        if not m:
            return 0
        if m.group(1) != ref:
            raise ParseError(f"reference {r!r} does not belong to {ref}")
        return int(m.group(2))
    if isinstance(r, int) and not isinstance(r, bool):
        return max(0, check_int(r, "reference 'gcn.notices.LVK.alert'"))  # v1.0.0 mock: an integer id
    if r is not None:
        raise ParseError("reference 'gcn.notices.LVK.alert' must be a string or integer")
    return 0


def _prob(d: Mapping[str, Any], key: str, what: str) -> float | None:
    return check_prob(to_float(d.get(key), what, allow_none=True), what)


def _coincident_event(e: Any, w: str) -> CoincidentEvent:
    """One entry of ``coincident_events`` (``w`` names it in messages)."""
    if not isinstance(e, dict):
        raise ParseError(f"{w} must be an object")
    loc = e.get("localization", e)
    if not isinstance(loc, dict):
        raise ParseError(f"{w}.localization must be an object")
    ra, dec = _position(loc, w)
    _, e90, rect = _errors(loc, w)
    if rect is not None:
        e90 = max(rect.values())
    cont = _prob(loc, "containment_probability", f"{w}.containment_probability")
    run, evt = _ids(e.get("id"), f"{w}.id")
    return CoincidentEvent(
        event_dt_s=to_float(e.get("event_dt"), f"{w}.event_dt", allow_none=True),
        ra_deg=ra, dec_deg=dec, error90_deg=e90, containment=cont, run_id=run, event_id=evt,
        pval_generic=_prob(e, "event_pval_generic", f"{w}.event_pval_generic"),
        pval_bayesian=_prob(e, "event_pval_bayesian", f"{w}.event_pval_bayesian"),
    )


def _parse_lvk(d: dict, *, topic: str | None, raw: bytes) -> Alert:
    if topic == TOPIC_GOLD_BRONZE:
        raise ParseError(f"topic {topic} does not carry LVK coincidence searches")
    ref = _str(_get(d, "ref_ID", "ref_id"), "ref_ID", allow_none=False)
    if ref is None or not _SUPEREVENT.match(ref):
        raise ParseError(f"ref_ID {ref!r} is not a GW superevent id")
    revision = _lvk_revision(d, ref)
    t = UTCInstant.from_iso(d.get("trigger_time"), "trigger_time")
    nt_raw = d.get("alert_datetime")
    notice = UTCInstant.from_iso(nt_raw, "alert_datetime") if nt_raw is not None else None
    pg = _prob(d, "pval_generic", "pval_generic")
    pb = _prob(d, "pval_bayesian", "pval_bayesian")
    n = to_int(d.get("n_events_coincident"), "n_events_coincident", allow_none=True)
    evs = d.get("coincident_events", [])
    if evs is None:
        evs = []
    if not isinstance(evs, list):
        raise ParseError("coincident_events must be a list")
    if len(evs) > 10000:
        raise ParseError("coincident_events is implausibly long")
    out = [_coincident_event(e, f"coincident_events[{i}]") for i, e in enumerate(evs)]
    if n is not None and n < 0:
        raise ParseError(f"n_events_coincident {n} is negative")
    if n is not None and out and n != len(out):
        raise ParseError(f"n_events_coincident = {n} but {len(out)} coincident_events are listed")
    best = _get(d, "most_probable_direction", "most_likely_direction")
    ra = dec = None
    if best is not None:
        if not isinstance(best, dict):
            raise ParseError("most_probable_direction must be an object")
        ra, dec = _position(best, "most_probable_direction")
    return Alert(
        kind="lvk_nu_track_search", source_format="kafka_json", time_utc=t, event_name=None,
        revision=revision, alert_type="initial", test=ref.startswith("M"), ra_deg=ra, dec_deg=dec,
        pval_generic=pg, pval_bayesian=pb, n_events_coincident=n if n is not None else len(out),
        coincident_events=tuple(out), gw_superevent_id=ref, notice_time_utc=notice, topic=topic, raw=raw,
    )


# --------------------------------------------------------------------------------------------
# writing: Alert -> notice of the gold/bronze topic
# --------------------------------------------------------------------------------------------

#: ``$schema`` of the notices written by :func:`to_kafka_json`.
SINGLE_NEUTRINO_SCHEMA = "https://gcn.nasa.gov/schema/main/gcn/notices/icecube/single_neutrino_alerts.schema.json"
_PIPELINES = {"gold": "Gold Track Alert", "bronze": "Bronze Track Alert", "cascade": "Cascade Alert"}
_TOPOLOGIES = {"gold": "Track", "bronze": "Track", "cascade": "Shower"}


def to_kafka_json(alert: Alert) -> dict[str, Any]:
    """The GCN Kafka JSON notice of a GOLD, BRONZE or cascade alert (``single_neutrino_alerts``).

    The inverse of the parser for the fields that schema has: kind (``pipeline``), event name,
    run and event id (``id: ["RUN_EVENT"]``), revision (``record_number`` = revision + 1), alert
    type, test flag (``alert_tense``), trigger and notice times, position, the 90 % error radius
    (the 50 % one when there is no 90 % one), ``systematic_included``, energy [TeV],
    signalness (``p_astro``), FAR (written in Hz) and the sky-map URL. Fields the schema cannot
    carry (a rectangle error, a 50 % radius beside the 90 % one, stream, packet type, IVORN,
    warnings) are left out. Missing values are left out rather than written as null.

    Returns
    -------
    dict
        JSON-ready; ``json.dumps`` it to publish, :func:`icecore.alerts.parse` reads it back.

    Raises
    ------
    icecore.errors.InputError
        For an alert that is not GOLD, BRONZE or cascade, or not an :class:`Alert`.
    """
    if not isinstance(alert, Alert):
        raise InputError(f"argument 'alert': expected an Alert, got {type(alert).__name__}", "alert")
    if alert.kind not in _PIPELINES:
        raise InputError(f"argument 'alert': a {alert.kind} alert has no single-neutrino Kafka notice", "alert")
    d: dict[str, Any] = {
        "$schema": SINGLE_NEUTRINO_SCHEMA, "mission": "IceCube", "instrument": "IC86", "messenger": "Neutrino",
        "pipeline": _PIPELINES[alert.kind], "record_number": alert.revision + 1,
    }
    if alert.event_name is not None:
        d["event_name"] = [alert.event_name]
    if alert.run_id is not None and alert.event_id is not None:
        d["id"] = [f"{alert.run_id}_{alert.event_id}"]
    if alert.notice_time_utc is not None:
        d["alert_datetime"] = alert.notice_time_utc.iso()
    d.update(alert_type=alert.alert_type, alert_tense="test" if alert.test else "current",
             alert_topology=_TOPOLOGIES[alert.kind], number_of_events=1)
    if alert.ra_deg is not None:
        d.update(ra=alert.ra_deg, dec=alert.dec_deg)
    if alert.error90_deg is not None:
        d.update(ra_dec_error=alert.error90_deg, containment_probability=0.9)
    elif alert.error50_deg is not None:
        d.update(ra_dec_error=alert.error50_deg, containment_probability=0.5)
    optional = {
        "systematic_included": alert.systematic_included,
        "healpix_url": alert.skymap_url,
        "nu_energy": alert.energy_tev,
        "p_astro": alert.signalness,
        "far": None if alert.far_per_year is None else alert.far_per_year / SECONDS_PER_YEAR,
    }
    d["trigger_time"] = alert.time_utc.iso()
    d.update({k: v for k, v in optional.items() if v is not None})
    return d
