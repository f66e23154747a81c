"""Study of the scan soak's requeue gap (issue #13 task 2): the bench soak at its CI size under load.

Runs ``run_soak`` of tests/scan/test_scan_amqp_faults.py (4 workers, 12 SIGKILLs, poison, a rogue
worker; nsides 8/64/512; 6000 work units per fit, the size at which the soak once missed a chunk for
the executor's 120 s timeout) alternately with the code before the fix (``--old``: a copy of the package
with scan/amqp.py from the given git revision) and the current code, each in its own subprocess, and
writes per run: passed or the error, wall time, re-queued chunks, redeliveries, tasks.

    nice -n 10 python tools/scan_soak_requeue.py --old f8b6622 --runs 3 --out tools/results/scan_soak_requeue.json

SIMULATION (the SYNTHETIC analytic fitter with emulated work); timings are under the load of a
shared machine and only say whether a run waited out a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("faults", sys.argv[1])
h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)
event = {"ra_deg": 250.0, "dec_deg": 30.0, "mjd": 60100.0, "kappa": 3000.0, "vertex_weight": 1e-4, "work": 6000}
t0 = time.monotonic()
try:
    fig = h.run_soak(sys.argv[2], workers=4, kills=12, poison_rounds=6, garbage_results=42, kill_interval=1.0,
                     event=event, seed=int(sys.argv[3]),
                     scan_kwargs={"nsides": (8, 64, 512), "extensions": (12.0, 24.0)})
    out = {"passed": True, **{k: fig[k] for k in ("wall_s", "requeued", "redeliveries", "tasks", "results", "kills")}}
except BaseException as exc:
    out = {"passed": False, "error": f"{type(exc).__name__}: {str(exc)[:400]}",
           "wall_s": round(time.monotonic() - t0, 1)}
print("RESULT " + json.dumps(out))
"""


def old_package(rev: str) -> Path:
    """A copy of python/icecore with scan/amqp.py as of ``rev``."""
    tmp = Path(tempfile.mkdtemp(prefix="icecore_old_"))
    shutil.copytree(ROOT / "python" / "icecore", tmp / "icecore")
    old = subprocess.run(["git", "show", f"{rev}:python/icecore/scan/amqp.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    (tmp / "icecore" / "scan" / "amqp.py").write_text(old)
    return tmp


def run_one(pkg: Path, url: str, seed: int, timeout_s: float) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{pkg}{os.pathsep}{ROOT / 'tests'}"}
    t0 = time.monotonic()
    try:
        p = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "tests" / "scan" / "test_scan_amqp_faults.py"),
                            url, str(seed)], env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"passed": False, "error": f"no answer within {timeout_s:g} s", "wall_s": timeout_s}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"passed": False, "error": f"child failed: {p.stderr[-400:]}", "wall_s": round(time.monotonic() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default=None, help="git revision of the code before the fix (also run it)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", default=str(ROOT / "tools" / "results" / "scan_soak_requeue.json"))
    args = ap.parse_args()
    url = os.environ.get("ICECORE_AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")
    variants = {"fixed": ROOT / "python"}
    if args.old:
        variants = {"old": old_package(args.old), **variants}
    report: dict = {"what": "scan soak (4 workers, 12 SIGKILL, poison, rogue; nsides 8/64/512, work 6000) "
                            "SIMULATION; under the load of a shared 2-core machine",
                    "old_revision": args.old, "runs": []}
    for i in range(args.runs):
        for name, pkg in variants.items():
            load = os.getloadavg()[0]
            r = run_one(pkg, url, seed=100 + i, timeout_s=args.timeout)
            report["runs"].append({"variant": name, "seed": 100 + i, "load_1min": round(load, 1), **r})
            Path(args.out).write_text(json.dumps(report, indent=2))
            print(name, i, r, flush=True)
    for name in variants:
        rs = [r for r in report["runs"] if r["variant"] == name]
        report[f"{name}_passed"] = f"{sum(r['passed'] for r in rs)}/{len(rs)}"
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
