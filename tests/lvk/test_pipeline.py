"""The LVK alert pipeline: real igwn.gwalert notices through the librdkafka mock cluster to products.

The mock cluster comes from the alerts tests (``cluster`` and ``_local`` of test_alerts_kafka,
imported, not copied). Windows are simulated (scrambled IC86-2011 events at the alert time plus
injected signal): the products describe simulated neutrino data over a real LVK alert.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from icecore.lvk import LvkPipeline, LvkPipelineConfig, run_alert_followup
from icecore.lvk.alert import read_lvk_alert
from icecore.lvk.events import simulate_window

ck = pytest.importorskip("confluent_kafka")
pytest.importorskip("gcn_kafka")
from test_alerts_kafka import _local, cluster  # noqa: E402,F401  (the mock-cluster fixture of tests/alerts)

from icecore.lvk.pipeline import listen  # noqa: E402

TOPIC = "igwn.gwalert"
SMALL = {"nside": 64, "trials": 300, "single_trials": 200, "seed": 3, "plot": False}


@pytest.fixture(scope="module")
def lvk_msgs(real: Path) -> dict[str, bytes]:
    d = real / "gcn" / "lvk_kafka_json"
    return {"preliminary": (d / "igwn_gwalert_preliminary_MS260605l.json").read_bytes(),
            "retraction": (d / "igwn_gwalert_retraction.json").read_bytes()}


def _products(store: Path, kind: str) -> list[Path]:
    return sorted((store / "lvk" / "followups" / "MS260605l").glob(f"{kind}__*"))


def test_run_alert_followup_takes_a_parsed_alert_or_its_message(real, sample, background, lvk_msgs, tmp_path):
    alert = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_preliminary_MS260605l.json")
    src = alert.skymap().max_direction_deg()
    ev = simulate_window(sample, alert.time_mjd, seed=5, n_signal=3, source_deg=src, background=background)
    a_sum, a_paths = run_alert_followup(alert, events=ev, out_dir=tmp_path / "a", sample=sample,
                                        background=background, **SMALL)
    # the raw message, with the events from a callable, gives the same search
    b_sum, _ = run_alert_followup(lvk_msgs["preliminary"], events=lambda a: ev, out_dir=tmp_path / "b",
                                  sample=sample, background=background, **SMALL)
    assert a_sum["status"] == "searched" and a_sum["superevent_id"] == "MS260605l"
    assert a_sum["generic"] == b_sum["generic"] and a_sum["bayesian"]["pval"] == b_sum["bayesian"]["pval"]
    assert set(a_paths) == {"notice", "text", "summary"}
    on_disk = json.loads(a_paths["summary"].read_text())
    assert on_disk["generic"]["pval"] == a_sum["generic"]["pval"] and on_disk["files"] == a_sum["files"]
    notice = json.loads(a_paths["notice"].read_text())
    assert notice["pval_generic"] == pytest.approx(a_sum["generic"]["pval"], rel=1e-3)
    assert a_sum["generic"]["pval"] < 0.05 and 1.0 <= a_sum["generic"]["ns"] <= 6.0  # 3 injected events
    r_sum, r_paths = run_alert_followup(lvk_msgs["retraction"], out_dir=tmp_path / "r")
    assert r_sum == {"status": "retracted", "superevent_id": "MS260605l", "notice_time": "2026-06-05T12:10:57Z",
                     "search_run": False}
    assert set(r_paths) == {"retraction", "summary"}


def test_interrupted_followup_is_rerun_and_a_finished_one_is_not(sample, lvk_msgs, tmp_path):
    pipe = LvkPipeline(tmp_path, LvkPipelineConfig(sample=sample, simulate_signal=0, **SMALL))
    first = pipe.process(lvk_msgs["preliminary"], topic=TOPIC)
    assert first.status == "searched" and first.products["summary"].is_file()
    assert pipe.process(lvk_msgs["preliminary"], topic=TOPIC).status == "duplicate"
    first.products["summary"].unlink()  # as if killed before the follow-up finished
    again = pipe.process(lvk_msgs["preliminary"], topic=TOPIC)
    assert again.status == "searched" and again.summary["generic"] == first.summary["generic"]
    assert len(list((tmp_path / "lvk" / "alerts").glob("*.json"))) == 1  # one record for one message


def test_kafka_pipeline_runs_followups_retracts_and_dead_letters(cluster, lvk_msgs, real, sample,  # noqa: F811
                                                                 notice_validator, tmp_path, capsys):
    from icecore.alerts import parse
    from icecore.cli import main

    bootstrap, _ = cluster
    prod = ck.Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 4_000_000, "log_level": 3})
    topic = f"{TOPIC}.test-{tmp_path.name}"
    stream = [lvk_msgs["preliminary"], b'{"alert_type": "PRELIMINARY", "superevent_id": "nonsense"}',
              lvk_msgs["retraction"], lvk_msgs["preliminary"]]  # the last one: a re-delivered duplicate
    try:
        for raw in stream:
            prod.produce(topic, raw)
        assert prod.flush(10) == 0
    finally:
        del prod  # before the module's cluster goes away
    cfg = dict(_local(bootstrap), **{"fetch.message.max.bytes": 4_000_000})
    config = LvkPipelineConfig(sample=sample, simulate_signal=3, **SMALL)
    stats = listen(tmp_path, config, [topic], group_id="lvk-pipeline", config=cfg, handle_signals=False,
                   max_messages=len(stream), idle_timeout=20, poll_timeout=0.2)
    assert (stats.received, stats.stored, stats.duplicates, stats.dead_lettered) == (4, 2, 1, 1)

    (searched,) = _products(tmp_path, "preliminary")
    summary = json.loads((searched / "summary.json").read_text())
    notice_raw = (searched / "notice.json").read_bytes()
    notice = json.loads(notice_raw)
    assert not list(notice_validator.iter_errors(notice))
    back = parse(notice_raw)
    assert back.gw_superevent_id == "MS260605l" and back.pval_generic == notice["pval_generic"]
    assert summary["generic"]["pval"] < 0.05 and summary["n_trials"] == 300
    assert notice["n_events_coincident"] == len(summary["coincident_events"]) >= 3
    assert summary["alert"]["superevent_id"] == "MS260605l" and summary["alert"]["test"] is True

    (retracted,) = _products(tmp_path, "retraction")
    assert json.loads((retracted / "retraction.json").read_text())["search_run"] is False
    assert not (retracted / "notice.json").exists()

    dead = [json.loads(p.read_text()) for p in (tmp_path / "dead_letter").glob("*.json")]
    assert len(dead) == 1 and "not an LVK alert" in dead[0]["error"] and dead[0]["topic"] == topic

    # the CLI, same group: every offset was committed after its products, so nothing is read again
    capsys.readouterr()
    status = main(["lvk", "listen", "--store", str(tmp_path), "--group-id", "lvk-pipeline", "--topic", topic,
                   "--bootstrap-servers", bootstrap, "--background", str(real / "ps" / "IC86-2011_PS-release"),
                   "--simulate", "0", "--idle-timeout", "1.5", "--json", "-X", "log_level=3",
                   "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=500"])
    assert status == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["received"] == 0 and out["stopped_by"] == "idle_timeout"
    assert len(_products(tmp_path, "preliminary")) == 1 and np.isfinite(summary["bayesian"]["odds_ratio"])
