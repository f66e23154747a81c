"""to_kafka_json: the inverse of the Kafka JSON parser for the single-neutrino (gold/bronze) schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from alerts_fixtures import NOTICES
from referencing import Registry, Resource

from icecore.alerts import parse, to_kafka_json
from icecore.alerts.kafka_json import TOPIC_GOLD_BRONZE
from icecore.errors import InputError

#: Alert fields the single_neutrino_alerts schema carries (error50 only without an error90).
SCHEMA_FIELDS = ("kind", "event_name", "run_id", "event_id", "revision", "alert_type", "test", "time",
                 "notice_time", "ra_deg", "dec_deg", "error90_deg", "systematic_included", "energy_tev",
                 "signalness", "skymap_url")


def _compare(a, b):
    da, db = a.to_dict(), b.to_dict()
    for k in SCHEMA_FIELDS:
        assert db[k] == da[k], k
    assert db["mjd"] == pytest.approx(da["mjd"], rel=0, abs=1e-11)
    if a.far_per_year is None:
        assert b.far_per_year is None
    else:
        assert b.far_per_year == pytest.approx(a.far_per_year, rel=1e-14)
    if a.error90_deg is None:
        assert b.error50_deg == a.error50_deg


@pytest.fixture(scope="module")
def alerts(notices):
    return {name: parse(raw) for name, raw in notices.items()}


def test_round_trip_every_track_fixture(alerts):
    tracks = {n: a for n, a in alerts.items() if a.kind in ("gold", "bronze")}
    assert len(tracks) >= 9  # VOEvent, classic text and four JSON layouts
    for name, a in tracks.items():
        notice = to_kafka_json(a)
        back = parse(json.dumps(notice).encode(), topic=TOPIC_GOLD_BRONZE)
        assert back.source_format == "kafka_json", name
        _compare(a, back)
        _compare(a, parse(notice))  # the dict itself parses too


def test_round_trip_cascades(alerts):
    cascades = {n: a for n, a in alerts.items() if a.kind == "cascade"}
    assert cascades
    for a in cascades.values():
        notice = to_kafka_json(a)
        assert notice["pipeline"] == "Cascade Alert" and notice["alert_topology"] == "Shower"
        _compare(a, parse(notice))


def test_units_and_layout(alerts):
    a = alerts["voevent/amon_icecube_gold_190730_rev1.xml"]
    d = to_kafka_json(a)
    assert d["pipeline"] == "Gold Track Alert" and d["record_number"] == a.revision + 1 == 2
    assert d["id"] == ["132910_57145925"] and d["alert_tense"] == "current"
    assert d["far"] == pytest.approx(0.677 / (365.25 * 86400.0), rel=1e-12)  # Hz
    assert d["containment_probability"] == 0.9 and d["ra_dec_error"] == a.error90_deg
    assert all(v is not None for v in d.values())  # missing values are left out, not null
    test_alert = alerts["gcn-schema/v1.0.0/gcn/notices/icecube/LvkNuTrackSearch.example.json"]
    with pytest.raises(InputError, match="lvk_nu_track_search"):
        to_kafka_json(test_alert)
    with pytest.raises(InputError):
        to_kafka_json({"kind": "gold"})


def test_output_validates_against_the_gcn_schema(alerts, gcn_dir):
    registry = Registry()
    for p in (gcn_dir / "gcn-schema/main").rglob("*.schema.json"):
        schema = json.loads(p.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    schema_path = gcn_dir / "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.schema.json"
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    example = json.loads((gcn_dir / NOTICES[1]).read_text())
    validator.validate(example)
    for a in alerts.values():
        if a.kind in ("gold", "bronze", "cascade"):
            validator.validate(to_kafka_json(a))
    # the validator is strict enough to catch a wrong value, also in the $ref'd core schemas
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**example, "pipeline": "Silver Track Alert"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**example, "alert_tense": "someday"})
