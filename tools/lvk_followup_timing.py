"""Timing of one whole LVK follow-up (sky map read, both searches, 10 000 + 2 000 background trials,
products without the plot) at nside 512 on 2 threads, for the bench map (S190814bv, 23 deg^2) and a
wide O4 map (G483432, 3900 deg^2). Wall and CPU seconds per stage; the machine load is recorded
(timings on a shared machine are distorted by the other jobs: the lead re-runs the bench quietly).

    nice -n 10 python tools/lvk_followup_timing.py   ->  tools/results/lvk_followup_timing.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from icecore.lvk.alert import LvkAlert  # noqa: E402
from icecore.lvk.events import BackgroundModel, load_ic86_2011, select_window, simulate_window  # noqa: E402
from icecore.lvk.followup import write_products  # noqa: E402
from icecore.lvk.generic import flux_upper_limits  # noqa: E402
from icecore.lvk.region import SearchRegion  # noqa: E402
from icecore.lvk.search import PixelSearch  # noqa: E402
from icecore.lvk.skymap import read_skymap  # noqa: E402

REAL = Path(os.environ.get("ICECORE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data" / "real"
MAPS = {"S190814bv_LALInference (bench map)": ("S190814bv_LALInference.v1.multiorder.fits", 58709.882396),
        "G483432_O4_bayestar (wide)": ("G483432_O4_bayestar.multiorder.fits", 60000.5)}


class Clock:
    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}

    def __call__(self, name: str, fn, *a, **k):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*a, **k)
        self.stages[name] = {"wall_s": round(time.perf_counter() - w, 3), "cpu_s": round(time.process_time() - c, 3)}
        return out


def main() -> None:
    sample = load_ic86_2011(REAL / "ps" / "IC86-2011_PS-release")
    bg = BackgroundModel(sample)
    from icecore.lvk.followup import run_followup

    results = {"load_before": os.getloadavg(), "threads": 2, "nside": 512, "trials": 10_000, "single_trials": 2_000,
               "maps": {}}
    for label, (fname, t_gw) in MAPS.items():
        ck = Clock()
        w0, c0 = time.perf_counter(), time.process_time()
        smap = ck("read_skymap", read_skymap, REAL / "gw" / "multiorder" / fname)
        ev = simulate_window(sample, t_gw, seed=1, n_signal=1, source_deg=smap.max_direction_deg(), background=bg)
        alert = LvkAlert(superevent_id="S190814bv", alert_type="update", time_mjd=t_gw)
        res = ck("run_followup", run_followup, alert, ev, sample, skymap=smap, background=bg, nside=512,
                 n_trials=10_000, n_single_trials=2_000, seed=1, threads=2, progress=False)
        with tempfile.TemporaryDirectory() as d:
            ck("write_products", write_products, res, d, plot=False)
        total = {"wall_s": round(time.perf_counter() - w0, 3), "cpu_s": round(time.process_time() - c0, 3)}
        # stage split of the searches (separately, same inputs)
        region = ck("region", SearchRegion.from_map, smap, nside=512)
        search = ck("search_setup (moments)", PixelSearch, region, bg, threads=2)
        ck("trials_10000", search.trials, 10_000, seed=1, threads=2, progress=False)
        ck("single_trials_2000", search.trials, 2_000, seed=2, fixed_n=1, threads=2, progress=False)
        ck("upper_limits", flux_upper_limits, search, select_window(ev, t_gw))
        results["maps"][label] = {"n_pixels": int(region.n_pixels), "whole_followup": total, "stages": ck.stages,
                                  "pval_generic": res.pval_generic, "pval_bayesian": res.pval_bayesian,
                                  "goal_60s_met_wall": total["wall_s"] <= 60.0}
        print(label, json.dumps(results["maps"][label]), flush=True)
    results["load_after"] = os.getloadavg()
    out = Path(__file__).resolve().parent / "results" / "lvk_followup_timing.json"
    out.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print("wrote", out)
    _ = np


if __name__ == "__main__":
    main()
