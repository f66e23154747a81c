"""A service killed with SIGKILL mid-scan resumes the scan after a restart, with an identical result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import icecore
from icecore.scan import ScanResult, SyntheticEvent, scan
from icecore.scan.skyreader import read_npz

SCHEDULE = {"nsides": [8, 32, 128], "extensions": [12.0, 24.0]}  # products of finer maps take seconds

CHILD = textwrap.dedent("""
    import sys, time
    from icecore.service import Service, ServiceConfig
    svc = Service(ServiceConfig(data_dir=sys.argv[1], database=sys.argv[2], tokens=("test-token-0123456789",),
                                scan_threads=1, scan_plots=False, poll_interval_s=0.05))
    svc.start(orchestrator=False, listener=False)
    time.sleep(120)  # killed by the hook long before
""")


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(icecore.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _npz(svc, sid) -> ScanResult:
    p = svc.products.get(svc.scans.get(sid)["product_id"])
    name = next(f["name"] for f in p["metadata"]["files"] if f["name"].endswith(".npz"))
    return read_npz(svc.products.file(p, name))


def test_sigkill_mid_scan_resumes_identically(db_url, make_service, tmp_path, synthetic_event):
    data = tmp_path / "data"
    svc = make_service(start=False, database=db_url, data_dir=data)
    sid = svc.scans.submit(synthetic_event, SCHEDULE)
    # a separate service process runs the scan and is SIGKILLed after its 2nd committed batch
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data), db_url], env=_env(
        ICECORE_SERVICE_TEST_KILL_AFTER_BATCHES="2"), capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    row = svc.scans.get(sid)
    assert row["status"] == "running" and row["product_id"] is None  # it died mid-scan
    assert svc.scans.manifest(sid)["progress"]["batches"] == 2

    svc.start(orchestrator=False, listener=False)  # restart: the dead owner's scan is re-queued and resumed
    row = svc.scans.wait(sid, 120)
    assert row["status"] == "done", row["error"]
    m = svc.scans.manifest(sid)
    assert m["attempts"] == 2 and m["progress"]["replayed_batches"] == 2
    resumed = _npz(svc, sid)

    # the uninterrupted scan, through the service and directly
    sid2 = svc.scans.submit(synthetic_event, SCHEDULE)
    assert svc.scans.wait(sid2, 120)["status"] == "done"
    whole = _npz(svc, sid2)
    direct = scan(SyntheticEvent(**synthetic_event["synthetic_event"]), nsides=(8, 32, 128), extensions=(12.0, 24.0),
                  threads=1, progress=False)
    for other in (whole, direct):
        assert resumed.equal_pixels(other)
        assert resumed.best_fit == other.best_fit
    assert (m["progress"]["pixels"] == svc.scans.manifest(sid2)["progress"]["pixels"])


def test_restart_keeps_queued_requests(make_service, tmp_path, synthetic_event, quick):
    """A request accepted before a crash is still there (and runs) after the restart."""
    data = tmp_path / "data"
    svc = make_service(start=False, data_dir=data)
    sids = [svc.scans.submit(synthetic_event, quick) for _ in range(2)]
    svc.close()
    svc2 = make_service(data_dir=data)
    for sid in sids:
        assert svc2.scans.wait(sid, 60)["status"] == "done"
