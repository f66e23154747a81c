"""Alerts from confluent-kafka's in-process mock cluster through the existing listener into the plan."""

from __future__ import annotations

import json
import uuid

import pytest

from helpers.kafka_mock import local_config, mock_cluster, wait_for

ck = pytest.importorskip("confluent_kafka")
pytest.importorskip("gcn_kafka")

GOLD_BRONZE_TOPIC = "gcn.notices.icecube.gold_bronze_track_alerts"
GOLD_BRONZE = "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.gold_bronze_track_alerts.example.json"


@pytest.fixture(scope="module")
def cluster():
    with mock_cluster() as c:
        yield c


kafka_config = local_config


def variants(gcn_dir, n):
    base = json.loads((gcn_dir / GOLD_BRONZE).read_bytes())
    return [json.dumps(dict(base, id=[f"137840_{57034692 + 1 + i}"], event_name=[f"IceCube-2304{i:02d}A"])).encode()
            for i in range(n)]


def test_kafka_to_products_and_restart(cluster, make_service, gcn_dir, tmp_path):
    bootstrap, prod = cluster
    topic = f"t{uuid.uuid4().hex[:8]}.{GOLD_BRONZE_TOPIC}"
    msgs = variants(gcn_dir, 5)
    for i, m in enumerate(msgs):
        prod.produce(topic, value=m, partition=0)
    prod.produce(topic, value=msgs[0], partition=0)  # re-delivered duplicate
    prod.produce(topic, value=b"not a notice", partition=0)
    assert prod.flush(10) == 0
    cfg = {"kafka": kafka_config(bootstrap), "kafka_topics": (topic,), "kafka_group_id": f"g-{topic}",
           "data_dir": tmp_path / "data"}
    svc = make_service(**cfg)
    wait_for(lambda: len(svc.orchestrator.list_alerts()) == 5 and all(
        a["status"] == "done" for a in svc.orchestrator.list_alerts()))
    assert svc.health()["listener"]["running"] is True
    wait_for(lambda: len(svc.orchestrator.store.dead_letters()) == 1)
    assert len(svc.products.list_products()) == 5  # one significance product each; the duplicate planned nothing
    svc.close()
    # restart with the same group: committed messages are not re-read; new ones are
    extra = variants(gcn_dir, 7)[5:]
    for m in extra:
        prod.produce(topic, value=m, partition=0)
    assert prod.flush(10) == 0
    svc2 = make_service(**cfg)
    wait_for(lambda: len(svc2.orchestrator.list_alerts()) == 7 and all(
        a["status"] == "done" for a in svc2.orchestrator.list_alerts()))
    assert len(svc2.products.list_products()) == 7
    assert svc2.orchestrator.stats["received"] == 2
