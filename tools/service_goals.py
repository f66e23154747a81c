"""Run bench/test_service.py for real at full scale and keep the measured figures (issue #15 goals).

    nice -n 10 python tools/service_goals.py            # writes tools/results/service_goals.json

The goals are asserted by the benchmarks themselves (they fail when one is missed); this script
records every benchmark's figures (extra_info, mean time) and whether it passed, with the load
of the machine at the start, so that a figure taken on a busy machine is read as such.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    out = ROOT / "tools" / "results" / "service_goals.json"
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "bench.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), ICECORE_BENCH_SCALE="1")
        t0 = time.time()
        load = os.getloadavg()
        proc = subprocess.run([sys.executable, "-m", "pytest", "bench/test_service.py", "-q", "-p", "no:cacheprovider",
                               f"--benchmark-json={js}", "-rA"], cwd=ROOT, env=env, capture_output=True, text=True)
        data = json.loads(js.read_text()) if js.exists() else {"benchmarks": []}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("PASSED", "FAILED", "ERROR"))]
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)), "loadavg_at_start": load,
              "cpus": os.cpu_count(), "returncode": proc.returncode, "outcomes": lines,
              "benchmarks": [{"name": b["name"], "mean_s": b["stats"]["mean"], **b.get("extra_info", {})}
                             for b in data["benchmarks"]],
              "failures": proc.stdout[-4000:] if proc.returncode else ""}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["benchmarks"], indent=1))
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
