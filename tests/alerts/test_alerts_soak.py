"""Soak and fault suite of the Kafka alert path (issue #11), CI size; bench/test_soak.py is the long run.

Real confluent-kafka client on librdkafka's mock cluster, listener processes SIGKILLed at random
moments, the disk full once (ENOSPC simulated in the listener process), >= 20 % poison of every
class; then: every good alert stored exactly once, every poison message dead-lettered with its
error, offsets at the end, no stall, the index consistent with the files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("confluent_kafka")
from alerts_soak import POISON_CLASSES, run_soak  # noqa: E402

N_MESSAGES = int(os.environ.get("ICECORE_SOAK_MESSAGES", "500"))
KILLS = int(os.environ.get("ICECORE_SOAK_KILLS", "3"))


@pytest.mark.slow
def test_kafka_soak_with_kills_poison_and_full_disk(notices, capsys):
    # not pytest's tmp_path: other pytest sessions on a shared machine prune old numbered tmp folders
    with tempfile.TemporaryDirectory(prefix="icecore-soak-") as work:
        fig = run_soak(notices, Path(work), n_messages=N_MESSAGES, kills=KILLS, seed=11)
    with capsys.disabled():
        print("\nsoak:", fig.line())
    assert fig.messages == N_MESSAGES and fig.poison_fraction >= 0.20
    assert set(fig.poison_by_class) >= set(POISON_CLASSES) - {"mutation"}
    assert fig.kills >= KILLS and fig.enospc_events == 1
    assert fig.lost == 0 and fig.duplicated == 0 and fig.good_dead_lettered == 0
    assert fig.poison_not_dead_lettered == 0
    assert fig.stalls == 0 and fig.offsets_at_end
    assert fig.index_consistent and fig.missing_raw == 0 and fig.orphan_raw == 0
