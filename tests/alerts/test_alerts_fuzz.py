"""Property tests: mutated real notices and random bytes raise ParseError or parse, nothing else."""

from __future__ import annotations

import json
import math
import os
import re
import struct

import pytest
from alerts_fixtures import NOTICES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecore.alerts import Alert, parse
from icecore.errors import ParseError

SETTINGS = settings(max_examples=int(os.environ.get("ICECORE_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _check(data, **kw):
    """parse() must return a valid Alert or raise ParseError (never an internal error)."""
    try:
        a = parse(data, **kw)
    except ParseError as exc:
        assert not str(exc).startswith("internal"), str(exc)
        return None
    assert isinstance(a, Alert)
    d = a.to_dict()
    json.dumps(d, allow_nan=False)  # no NaN/inf leaks into a record
    if a.ra_deg is not None:
        assert 0 <= a.ra_deg < 360 and -90 <= a.dec_deg <= 90
    for k in ("signalness", "pval_generic", "pval_bayesian"):
        assert d[k] is None or 0 <= d[k] <= 1
    return a


@SETTINGS
@given(data=st.data())
def test_byte_flips(notices, data):
    name = data.draw(st.sampled_from(NOTICES))
    raw = bytearray(notices[name])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    _check(bytes(raw))


@SETTINGS
@given(data=st.data())
def test_truncation(notices, data):
    name = data.draw(st.sampled_from(NOTICES))
    raw = notices[name]
    cut = data.draw(st.integers(0, len(raw) - 1))
    a = _check(raw[:cut])
    if a is not None:  # only trailing whitespace/comments may be cut from a valid notice
        assert name.endswith((".txt", ".xml", ".json"))


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


@SETTINGS
@given(data=st.data())
def test_json_field_type_changes(notices, data):
    name = data.draw(st.sampled_from([n for n in NOTICES if n.endswith(".json")]))
    obj = json.loads(notices[name])
    paths = list(_paths(obj))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        target = obj
        try:
            for p in path[:-1]:
                target = target[p]
            target[path[-1]] = data.draw(_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    _check(obj)
    _check(json.dumps(obj, allow_nan=True))
    if data.draw(st.booleans()):
        _check(json.dumps(obj, allow_nan=True), topic=data.draw(st.sampled_from(
            ["gcn.notices.icecube.gold_bronze_track_alerts", "gcn.notices.icecube.lvk_nu_track_search"])))


@SETTINGS
@given(data=st.data())
def test_xml_attribute_and_text_changes(notices, data):
    name = data.draw(st.sampled_from([n for n in NOTICES if n.endswith(".xml")]))
    text = notices[name].decode()
    spots = [m.span(1) for m in re.finditer(r'value="([^"]*)"', text)] + [
        m.span(1) for m in re.finditer(r">([^<>]+)</(?:C1|C2|ISOTime|Error2Radius)>", text)]
    a, b = data.draw(st.sampled_from(spots))
    new = data.draw(st.one_of(st.text(max_size=12).map(lambda s: s.replace("<", "").replace("&", "").replace('"', "")),
                              st.floats(allow_nan=True).map(repr), st.integers().map(str)))
    _check(text[:a] + new + text[b:])


@SETTINGS
@given(data=st.data())
def test_classic_text_value_changes(notices, data):
    name = "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt"
    lines = notices[name].decode().splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    line = lines[i]
    if ":" in line[:20]:
        key, _ = line.split(":", 1)
        lines[i] = key + ":" + data.draw(st.text(max_size=40).map(lambda s: s.replace("\n", " ").replace("\r", " ")))
    else:
        lines[i] = "  " + data.draw(st.text(max_size=40).map(lambda s: s.replace("\n", " ").replace("\r", " ")))
    _check("\n".join(lines))


@SETTINGS
@given(raw=st.binary(max_size=600))
def test_random_bytes(raw):
    _check(raw)


@SETTINGS
@given(ptype=st.sampled_from([173, 174, 176]), words=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=39, max_size=39))
def test_random_binary_packets(ptype, words):
    _check(struct.pack(">40i", ptype, *words))


@SETTINGS
@given(text=st.text(max_size=300))
def test_random_text(text):
    _check(text)
    _check("NOTICE_TYPE: ICECUBE Astrotrack Gold\n" + text)


def test_binary_field_sweep(notices):
    """Every slot of the real binary packet set to extreme values: ParseError or a valid alert."""
    raw = notices["classic_binary/ICECUBE_CASCADE_IC240518A.bin"]
    words = list(struct.unpack(">40i", raw))
    for i in range(1, 40):
        for v in (0, -1, 2**31 - 1, -(2**31)):
            w = list(words)
            w[i] = v
            _check(struct.pack(">40i", *w))


def test_mutated_dict_with_nan_values(notices):
    obj = json.loads(notices[NOTICES[0]])
    obj["coincident_events"][0]["localization"]["ra"] = math.nan
    with pytest.raises(ParseError, match="finite"):
        parse(obj)
