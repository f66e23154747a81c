"""The long soak of the Kafka alert path (issue #11): >= 10 000 messages, >= 20 SIGKILLs, a full disk.

Not a timing benchmark: it prints the reliability figures of the README (messages, kills,
poison, lost, duplicated, stalls, wall time). Size with ICECORE_SOAK_MESSAGES / ICECORE_SOAK_KILLS
(defaults 10000 / 20); run with
``PYTHONPATH=python python -m pytest bench/test_soak.py --benchmark-disable -q -s``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("confluent_kafka")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "alerts"))
from alerts_fixtures import NOTICES  # noqa: E402
from alerts_soak import run_soak  # noqa: E402

GCN = Path(os.environ.get("ICECORE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "fixtures" / "gcn"
N_MESSAGES = int(os.environ.get("ICECORE_SOAK_MESSAGES", "10000"))
KILLS = int(os.environ.get("ICECORE_SOAK_KILLS", "20"))

pytestmark = pytest.mark.skipif(not GCN.is_dir(), reason="GCN fixtures not found (set ICECORE_SHARED)")


def test_soak(capsys):
    notices = {n: (GCN / n).read_bytes() for n in NOTICES}
    # not pytest's tmp_path: other pytest sessions on the machine prune old numbered tmp folders
    with tempfile.TemporaryDirectory(prefix="icecore-soak-") as work, open(Path(work) / "listeners.log", "wb") as log:
        fig = run_soak(notices, Path(work), n_messages=N_MESSAGES, kills=KILLS, seed=2024, log=log)
    with capsys.disabled():
        print("\nsoak figures:", json.dumps(vars(fig), sort_keys=True))
    assert fig.messages >= N_MESSAGES and fig.poison_fraction >= 0.20 and fig.kills >= KILLS
    assert fig.enospc_events == 1
    assert (fig.lost, fig.duplicated, fig.good_dead_lettered, fig.poison_not_dead_lettered, fig.stalls) == (0,) * 5
    assert fig.offsets_at_end and fig.index_consistent and fig.missing_raw == 0 and fig.orphan_raw == 0
