"""parse(): every real fixture, each format's quirks, unit conversions and schema validity."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest
from alerts_fixtures import NOTICES
from astropy.time import Time

from icecore.alerts import Alert, alert_schema, parse
from icecore.alerts.model import SECONDS_PER_YEAR
from icecore.errors import ParseError


@pytest.fixture(scope="module")
def validator():
    schema = alert_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", NOTICES)
def test_every_fixture_parses_and_validates(notices, validator, name):
    a = parse(notices[name])
    assert isinstance(a, Alert)
    d = a.to_dict(include_raw=True)
    validator.validate(d)
    # JSON round trip without NaN
    json.loads(json.dumps(d, allow_nan=False))
    assert a.raw == notices[name] or name.endswith(".json")
    # astropy Time agrees with the stored MJD and ISO string
    assert abs(a.time.mjd - Time(d["time"].rstrip("Z"), scale="utc").mjd) * 86400 < 1e-3


def _p(notices, name, **kw):
    return parse(notices[name], **kw)


def test_kafka_gold_bronze_current(notices):
    a = _p(notices, NOTICES[1], topic="gcn.notices.icecube.gold_bronze_track_alerts")
    assert (a.kind, a.run_id, a.event_id, a.event_name) == ("bronze", 137840, 57034692, "IceCube-230416A")
    assert (a.ra_deg, a.dec_deg, a.error90_deg) == (345.82, 9.01, 0.5)
    assert a.energy_tev == 127.29 and a.signalness == 0.34064
    # FAR: 8.029e-8 Hz -> per Julian year
    assert a.far_per_year == pytest.approx(8.029e-8 * 365.25 * 86400, rel=1e-12)
    assert a.time_utc.iso() == "2023-04-16T05:22:26.150574Z"
    assert a.revision == 0 and a.alert_type == "initial" and not a.test
    assert a.skymap_url.endswith(".fits.gz")
    assert a.topic == "gcn.notices.icecube.gold_bronze_track_alerts"


def test_kafka_v1_layouts(notices):
    old = _p(notices, NOTICES[2])
    new = _p(notices, NOTICES[1])
    # signalness vs p_astro, ["run","event"] vs ["run_event"], ra_uncertainty vs ra_dec_error
    assert (old.run_id, old.event_id) == (new.run_id, new.event_id)
    assert old.signalness == new.signalness and old.error90_deg == 0.51
    assert old.event_key == new.event_key
    upd = _p(notices, NOTICES[3])
    assert upd.alert_type == "update"
    assert upd.error_rect_deg == {"ra_minus": 1.5, "ra_plus": 1.4, "dec_minus": 1.2, "dec_plus": 1.3}
    assert upd.error90_deg is None


def test_lvk_current_and_v1(notices):
    a = _p(notices, NOTICES[0], topic="gcn.notices.icecube.lvk_nu_track_search")
    assert a.kind == "lvk_nu_track_search" and a.gw_superevent_id == "S230914ak"
    assert a.revision == 2  # S230914ak-2-Preliminary
    assert (a.pval_generic, a.pval_bayesian, a.n_events_coincident) == (0.0191, 0.0549, 2)
    assert (a.ra_deg, a.dec_deg) == (17.49, 16.18)  # most_probable_direction
    ev = a.coincident_events
    assert [(e.run_id, e.event_id) for e in ev] == [(138590, 39138551), (138590, 39164579)]
    assert ev[0].pval_bayesian is None and ev[1].pval_bayesian == 0.0656
    assert ev[1].ra_deg == 13.82 and ev[1].error90_deg == 0.5 and ev[0].event_dt_s == 12.91
    old = _p(notices, NOTICES[4])  # flat per-event ra/dec/ra_uncertainty, ref MS... (mock)
    assert old.gw_superevent_id == "MS230427r" and old.test
    assert [e.error90_deg for e in old.coincident_events] == [0.51, 1.53]
    assert old.coincident_events[1].ra_deg == 343.99 and old.coincident_events[0].event_dt_s == -123.4


def test_topic_mismatch_is_rejected(notices):
    with pytest.raises(ParseError, match="LVK"):
        parse(notices[NOTICES[0]], topic="gcn.notices.icecube.gold_bronze_track_alerts")


def test_pr161_units_are_fixed(notices):
    a = _p(notices, NOTICES[5])
    # ra_dec_error 30.8 was left in arcmin by the converter (classic text: 30.80 arcmin)
    assert a.error90_deg == pytest.approx(30.8 / 60) and a.error50_deg == pytest.approx(12.0 / 60)
    assert a.energy_tev == pytest.approx(155.92)  # keV -> TeV
    assert a.far_per_year == pytest.approx(5.100202942668696e-8 * SECONDS_PER_YEAR)
    assert any("arcmin" in w for w in a.warnings)
    c = _p(notices, NOTICES[6])
    assert c.kind == "cascade" and c.error90_deg == 19.85 and c.error50_deg == 10.89  # degrees already
    assert c.event_name == "IceCubeCascade-210416a" and c.systematic_included is True
    # the two PR161 notices carry the odd "2024-2-04" notice date: accepted
    assert a.notice_time_utc.iso().startswith("2024-02-04T09:10:06")


def test_voevent_gold_rev1_v11(notices):
    a = _p(notices, "voevent/amon_icecube_gold_190730_rev1.xml")
    assert (a.kind, a.packet_type, a.stream, a.revision, a.alert_type) == ("gold", 173, 24, 1, "update")
    assert (a.run_id, a.event_id) == (132910, 57145925)
    assert (a.ra_deg, a.dec_deg, a.error90_deg, a.error50_deg) == (225.7899, 10.47, 1.185, 0.6624)
    assert (a.energy_tev, a.signalness, a.far_per_year) == (298.8134, 0.6716, 0.677)
    assert a.warnings == ()
    # TJD/SOD (18694, 75041.31) is the ISOTime: astropy oracle
    assert a.mjd == pytest.approx(Time("2019-07-30T20:50:41.31", scale="utc").mjd, abs=1e-9)
    assert a.mjd == pytest.approx(18694 + 40000 + 75041.31 / 86400, abs=1e-9)


def test_voevent_other_types(notices):
    b = _p(notices, "voevent/amon_icecube_bronze_190819_rev0.xml")
    assert (b.kind, b.revision, b.alert_type, b.error50_deg) == ("bronze", 0, "initial", 0.2)
    h = _p(notices, "voevent/amon_icecube_hese_151115.xml")
    assert h.kind == "hese" and h.run_id is None and h.error90_deg == 1.0 and h.signalness == 0.5
    assert any("'pe'" in w for w in h.warnings)  # signalness with unit "pe"
    c = _p(notices, "voevent/amon_icecube_cascade_200701b_rev0.xml")
    assert c.event_name == "IceCubeCascade-200701b" and c.error90_deg == 44.0584
    assert c.skymap_url.endswith("evt000034406854.fits")
    n = _p(notices, "voevent/amon_nu_em_coinc_200522.xml")
    assert n.kind == "nu_em_coinc" and n.event_id == 48580 and n.event_name == "NU_EM_200522A"
    assert n.error90_deg == pytest.approx(35.93 / 60) and n.error50_deg == pytest.approx(19.80 / 60)  # arcmin
    assert n.far_per_year == 32255.0


def test_fastresponse_copy_is_the_same_alert(notices):
    a = _p(notices, "voevent/amon_icecube_cascade_200701b_rev0.xml").to_dict()
    b = _p(notices, "voevent/amon_icecube_cascade_200701b_rev0.fastresponse_sample.xml").to_dict()
    for k in ("raw_sha256",):
        a.pop(k), b.pop(k)
    assert a == b


def test_gev_energy_packet(notices):
    a = _p(notices, "voevent/amon_icecube_gold_190602_rev0.fastresponse_sample.xml")
    assert a.energy_tev == pytest.approx(23.8726e-3)
    assert any("test packet" in w for w in a.warnings)


def test_edited_voevent_is_flagged(notices):
    raw = notices["voevent/EDITED_fastresponse_sample_astrotrack_alert_2021.xml"]
    a = parse(raw)
    text = " | ".join(a.warnings)
    assert "IVORN says run_id 132642" in text and "AMON_ID" in text and "Event_TJD/Event_SOD" in text
    with pytest.raises(ParseError, match="inconsistent"):
        parse(raw, strict=True)
    # the genuine notices are self-consistent
    parse(notices["voevent/amon_icecube_gold_190730_rev1.xml"], strict=True)


def test_classic_text_gold(notices):
    name = "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt"
    a = _p(notices, name)
    assert (a.kind, a.run_id, a.event_id, a.revision, a.stream) == ("gold", 138283, 14780365, 0, 24)
    assert a.ra_deg == 19.4330
    # the decimal Dec lost its sign; the sexagesimal {-11d 29' 51"} and precessed values keep it
    assert a.dec_deg == -11.4977 and any("SRC_DEC" in w for w in a.warnings)
    assert a.error90_deg == pytest.approx(30.80 / 60) and a.error50_deg == pytest.approx(0.2)  # arcmin
    assert a.systematic_included is False
    assert (a.energy_tev, a.signalness, a.far_per_year) == (3412.7, 0.32938, 0.5131)
    # TJD 20179, SOD {08:26:14.59}
    assert a.mjd == pytest.approx(Time("2023-08-23T08:26:14.59", scale="utc").mjd, abs=1e-9)
    assert a.notice_time_utc.iso() == "2023-08-23T08:27:06.000000Z"
    with pytest.raises(ParseError):
        parse(notices[name], strict=True)


def test_classic_text_cascade_degrees_and_hermes_dict(notices):
    a = _p(notices, "classic_text/DERIVED_hermes_parsed_ICECUBE_CASCADE_141344_29341777.json")
    assert a.kind == "cascade" and a.event_name == "IceCubeCascade-250911a"
    assert a.error90_deg == 13.28 and a.error50_deg == 7.28  # degrees for cascades
    assert a.systematic_included is True and a.dec_deg == -1.7676 and a.warnings == ()
    assert a.mjd == pytest.approx(Time("2025-09-11T04:28:37.14", scale="utc").mjd, abs=1e-9)


def _text_variant(notices, old, new):
    name = "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt"
    text = notices[name].decode()
    assert old in text
    return text.replace(old, new)


def test_classic_text_multiline_and_repeated_comments(notices):
    text = _text_variant(notices, "COMMENTS:         IceCube Gold event.  ",
                         "COMMENTS:         IceCube Gold event.  \nCOMMENTS:         This alert has been retracted.")
    a = parse(text)
    assert a.alert_type == "retraction"
    # a continuation line of SRC_RA that is not a KEY line is kept with its key
    bad = _text_variant(notices, "STREAM:           24", "stream 24 with no colon")
    with pytest.raises(ParseError, match="neither"):
        parse(bad)


def test_classic_text_inconsistent_time_rejected(notices):
    bad = _text_variant(notices, "30374 SOD {08:26:14.59}", "30374 SOD {09:26:14.59}")
    with pytest.raises(ParseError, match="SOD"):
        parse(bad)
    bad = _text_variant(notices, "20179 TJD", "20178 TJD")
    with pytest.raises(ParseError, match="TJD"):
        parse(bad)


def test_classic_binary_cascade(notices):
    a = _p(notices, "classic_binary/ICECUBE_CASCADE_IC240518A.bin")
    assert (a.kind, a.packet_type, a.run_id, a.event_id, a.stream) == ("cascade", 176, 139414, 34468187, 26)
    assert (a.ra_deg, a.dec_deg) == (180.3930, 21.5767)
    assert a.time_utc.iso() == "2024-05-18T06:50:07.880000Z"
    assert a.event_name == "IceCubeCascade-240518a"
    # catalogue row: err 15.38 deg, energy 40.74 TeV, FAR 0.3456 /yr
    assert a.error90_deg == pytest.approx(15.38, abs=0.005)
    assert a.energy_tev == pytest.approx(40.74, abs=0.005)
    assert a.far_per_year == pytest.approx(0.3456, abs=5e-5)
    with pytest.raises(ParseError, match="160"):
        parse(notices["classic_binary/ICECUBE_CASCADE_IC240518A.bin"][:159] + b"\x00\x00")


def test_to_dict_has_every_documented_field(notices):
    d = parse(notices[NOTICES[7]]).to_dict()
    props = alert_schema()["properties"]
    assert set(d) <= set(props) and set(alert_schema()["required"]) <= set(d)


# ---- malformed input -------------------------------------------------------------------------

def _json(notices, **changes):
    d = json.loads(notices[NOTICES[1]])
    d.update(changes)
    return json.dumps(d)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"ra": 361.0}, "outside"),
        ({"dec": -90.5}, "outside"),
        ({"ra": "abc"}, "not a number"),
        ({"ra": True}, "boolean"),
        ({"p_astro": 1.2}, "probability"),
        ({"p_astro": -0.1}, "probability"),
        ({"far": -1.0}, "negative"),
        ({"ra_dec_error": 200.0}, "outside"),
        ({"trigger_time": "yesterday"}, "ISO"),
        ({"trigger_time": "2023-02-30T00:00:00Z"}, "date"),
        ({"id": ["../../etc/passwd"]}, "RUN_EVENT"),
        ({"pipeline": "Platinum", "event_name": 5}, "gold/bronze"),
        ({"alert_type": "maybe"}, "alert_type"),
        ({"record_number": 0}, "record_number"),
    ],
)
def test_bad_json_values(notices, changes, match):
    with pytest.raises(ParseError, match=match):
        parse(_json(notices, **changes))


@pytest.mark.parametrize("payload", ['{"ra": NaN}', '{"ra": Infinity}'])
def test_json_nan_rejected(notices, payload):
    text = notices[NOTICES[1]].decode().replace('"ra": 345.82', payload[1:-1])
    with pytest.raises(ParseError, match="NaN"):
        parse(text)


def test_truncated_and_garbage():
    for data in (b"", b"{", b'{"a": [1, 2', b"<voe:VOEvent", b"\x00\xff" * 20, "plain words", 12, None, [1]):
        with pytest.raises(ParseError):
            parse(data)


def test_size_limit():
    with pytest.raises(ParseError, match="exceeds"):
        parse(b"{" + b" " * (4 * 1024 * 1024) + b"}")


def test_xml_dtd_and_entities_refused(notices):
    xml = notices["voevent/amon_icecube_bronze_190819_rev0.xml"]
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>' + xml.split(b"?>", 1)[1]
    with pytest.raises(ParseError, match="DTD"):
        parse(bomb)
    with pytest.raises(ParseError, match="encoding"):
        parse(xml.replace(b"UTF-8", b"UTF-16", 1))


def test_voevent_bad_values(notices):
    xml = notices["voevent/amon_icecube_bronze_190819_rev0.xml"].decode()
    cases = [
        (("<C2>0.9571</C2>", "<C2>95.1</C2>"), "outside"),
        (("<C1>148.8070</C1>", "<C1>nan</C1>"), "finite"),
        (('name="signalness"   value="0.2921"', 'name="signalness"   value="1.5"'), "probability"),
        (('value="174"', 'value="61"'), "Packet_Type"),
        (('value="TeV"', 'value="erg"'), None),
        (('<Param name="Test"           value="false" />', '<Param name="Test"           value="maybe" />'), "flag"),
    ]
    for (old, new), match in cases:
        assert old in xml or old.replace('value="TeV"', 'unit="TeV"') in xml
        bad = xml.replace(old, new) if old in xml else xml.replace('unit="TeV"', 'unit="erg"')
        with pytest.raises(ParseError, match=match):
            parse(bad)


def test_voevent_flags(notices):
    xml = notices["voevent/amon_icecube_bronze_190819_rev0.xml"].decode()
    t = parse(xml.replace('<Param name="Test"           value="false" />', '<Param name="Test"           value="true" />'))
    assert t.test
    r = parse(xml.replace('<Param name="Retraction"     value="false" />', '<Param name="Retraction"     value="true" />'))
    assert r.alert_type == "retraction"
    assert parse(xml.replace('role="observation"', 'role="test"')).test


def test_no_nan_in_any_record(notices):
    for raw in notices.values():
        for k, v in parse(raw).to_dict().items():
            assert not (isinstance(v, float) and math.isnan(v)), k
