"""Before/after study of the point-source sky scan (``icecore.ps.sky_scan``): same input, wall/CPU and maps.

The input is the point-source bench's (``bench/test_ps.py``): 3 seasons x 120 000 events written by
``simulate_public_data`` (seed 5, one source at 77.35/+5.7 deg). The scan runs in the bench's
SkyLLH-compatible configuration (``selection="box"``, ``energy_weighting="skyllh"``) and in the
default one (``selection="band"``). Each run stores its maps (``.npz``) under ``--maps`` with the
``--label``; ``--compare LABEL`` compares this run's maps with those of LABEL (largest differences
of TS, ns and gamma) and both go into the JSON. Timings taken on a shared machine are only
indicative (the lead re-runs benches quietly).

Usage::

    nice -n 10 python tools/ps_sky_scan_speed.py --label before --nside 32
    nice -n 10 python tools/ps_sky_scan_speed.py --label after --nside 32 --compare before
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

SEASONS = ("IC79", "IC86_I", "IC86_II")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--nside", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", type=Path, default=Path("/tmp/ps_sky_scan_speed/data"))
    ap.add_argument("--maps", type=Path, default=Path("/tmp/ps_sky_scan_speed/maps"))
    ap.add_argument("--compare", default=None)
    ap.add_argument("--out", type=Path, default=Path("tools/results/ps_sky_scan_speed.json"))
    a = ap.parse_args()
    from icecore.ps import load_public_data, simulate_public_data, sky_scan

    if not (a.data / "events").is_dir():
        simulate_public_data(a.data, seasons=SEASONS, n_events=120_000,
                             sources=[{"ra": 77.35, "dec": 5.7, "n": 60, "gamma": 2.0}], seed=5)
    data = load_public_data(a.data)
    a.maps.mkdir(parents=True, exist_ok=True)
    res = json.loads(a.out.read_text()) if a.out.exists() else {}
    entry: dict = {"nside": a.nside, "threads": a.threads, "load_1min": os.getloadavg()[0], "configs": {}}
    for cfg, kw in (("box_skyllh", {"selection": "box", "energy_weighting": "skyllh"}), ("band_default", {})):
        t0, c0 = time.perf_counter(), time.process_time()
        m = sky_scan(data, nside=a.nside, threads=a.threads, **kw)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        np.savez(a.maps / f"{a.label}_{cfg}_{a.nside}.npz", ts=m["ts"], ns=m["ns"], gamma=m["gamma"],
                 status=m["status"])
        e = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "fit_wall_s": round(float(m["seconds"]), 2),
             "ts_sum": float(np.sum(m["ts"])), "ts_max": float(np.max(m["ts"]))}
        if a.compare:
            o = np.load(a.maps / f"{a.compare}_{cfg}_{a.nside}.npz")
            e["vs_" + a.compare] = {k: float(np.max(np.abs(m[k] - o[k]))) for k in ("ts", "ns", "gamma")}
            e["vs_" + a.compare]["status_equal"] = bool(np.array_equal(m["status"], o["status"]))
        entry["configs"][cfg] = e
        print(cfg, e, flush=True)
    res[f"{a.label}_nside{a.nside}"] = entry
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
