"""How often BackgroundTS's default tail is anti-conservative: many 10^4-trial subsamples of the 10^6 reference.

Issue #13 item 2. Regenerates the 10^6 RA-scrambled background trials of
``tools/ps_tail_reference.py`` (same toy, same trial seed: the quantiles are checked against
``tests/stats/data/ps_tail_reference.json``), then draws ``--subsamples`` (default 100: all of
them) disjoint sets of 10^4 trials from them (no new trials) and fits each with
``BackgroundTS()`` (the default ``tail="auto"``). For each set and each reference quantile (3 sigma,
1e-4, 2e-5) it records the pull
(fitted threshold - reference) / sqrt(stated error^2 + reference error^2), the chosen model, the
goodness of fit and the reason; the summary is given for the first 20 sets and for all. Writes
``tools/results/ps_tail_choice.json`` (``--json``).

All trials are simulation (toy data of :mod:`icecore.ps.toy`).

Usage::

    PYTHONPATH=python nice -n 10 python tools/ps_tail_choice_study.py --cache /tmp/ps_tail_trials
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from icecore import ps
from icecore.stats import BackgroundTS

ROOT = Path(__file__).resolve().parents[1]
REF_PATH = ROOT / "tests/stats/data/ps_tail_reference.json"


def _ref_tool():
    spec = importlib.util.spec_from_file_location("ps_tail_reference", ROOT / "tools" / "ps_tail_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def reference_trials(cache: Path, threads: int) -> dict[float, np.ndarray]:
    """The reference's trials (all of them, in generation order), regenerated or read from ``cache``."""
    tool = _ref_tool()
    ref = json.loads(REF_PATH.read_text())
    prov = ref["provenance"]
    out: dict[float, np.ndarray] = {}
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = None
        for i, d in enumerate(ref["declinations"]):
            f = cache / f"dec{d['dec_deg']:+g}.npy"
            if f.exists():
                out[d["dec_deg"]] = np.load(f)
                continue
            if data is None:
                t = prov["toy"]
                root = ps.simulate_public_data(Path(tmp) / "toy", seasons=t["seasons"], n_events=t["n_events"],
                                               seed=t["seed"])
                assert tool.toy_fingerprint(root) == prov["toy_sha256"], "toy generator changed"
                data = ps.load_public_data(root)
            ana = ps.PointSourceAnalysis(data, d["ra_deg"], d["dec_deg"], threads=threads)
            rng = np.random.default_rng([prov["trial_seed"], i])
            parts, done = [], 0
            while done < d["n_trials"]:
                k = min(20_000, d["n_trials"] - done)
                parts.append(ana.trials(k, seed=rng, threads=threads, progress=False, batch=k).ts)
                done += k
            ts = np.concatenate(parts)
            np.save(f, ts)
            out[d["dec_deg"]] = ts
    for d in ref["declinations"]:
        ts = out[d["dec_deg"]]
        desc = np.sort(ts)[::-1]
        for q in tool.quantiles(desc, ts.size):
            r = next(r for r in d["quantiles"] if math.isclose(r["p"], q["p"]))
            assert math.isclose(q["ts"], r["ts"], rel_tol=1e-9), ("trials differ from the reference",
                                                                  d["dec_deg"], q, r)
    return out


def study(trials: dict[float, np.ndarray], n_sub: int, size: int, seed: int, **bg_kw) -> dict:
    ref = json.loads(REF_PATH.read_text())
    rows = []
    for d in ref["declinations"]:
        ts = trials[d["dec_deg"]]
        perm = np.random.default_rng([seed, int(10 * d["dec_deg"]) % 1000]).permutation(ts.size)
        for j in range(n_sub):
            sub = ts[perm[j * size:(j + 1) * size]]
            bg = BackgroundTS(**bg_kw).add(sub)
            f = bg.fit_tail()
            row = {"dec_deg": d["dec_deg"], "subsample": j, "model": f["model"], "gof_ok": f["gof_ok"],
                   "gof_pvalue": f["gof_pvalue"], "reason": f["reason"],
                   "gof": {k: {"ok": v["ok"], "ad_pvalue": v["ad_pvalue"], "count_pvalue": v["count_pvalue"]}
                           for k, v in f["gof"].items()}, "pulls": {}}
            for q in d["quantiles"]:
                if q["p"] > 2e-3:
                    continue
                est = bg.threshold_detail(q["p"], method="fit")
                ref_err = 0.5 * (q["ts_hi"] - q["ts_lo"])
                sigma = math.hypot(est.error, ref_err)
                row["pulls"][f"{q['p']:.3g}"] = {"value": est.value, "error": est.error, "ref": q["ts"],
                                                 "ref_error": ref_err, "pull": (est.value - q["ts"]) / sigma}
            rows.append(row)
    summary: dict = {}
    for first in sorted({min(20, n_sub), n_sub}):
        for d in ref["declinations"]:
            sel = [r for r in rows if r["dec_deg"] == d["dec_deg"] and r["subsample"] < first]
            s: dict = {"subsamples": len(sel),
                       "models": {m: sum(r["model"] == m for r in sel) for m in sorted({r["model"] for r in sel})},
                       "gof_fail": sum(not r["gof_ok"] for r in sel)}
            for p in sel[0]["pulls"]:
                pulls = np.array([r["pulls"][p]["pull"] for r in sel])
                s[p] = {"min": float(pulls.min()), "max": float(pulls.max()), "mean": float(pulls.mean()),
                        "std": float(pulls.std(ddof=1)), "n_below_-1": int(np.sum(pulls < -1.0)),
                        "n_below_-2.5": int(np.sum(pulls < -2.5)), "n_above_2.5": int(np.sum(pulls > 2.5)),
                        "n_above_4": int(np.sum(pulls > 4.0))}
            summary[f"first {first}: dec {d['dec_deg']:+g}"] = s
    return {"rows": rows, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="/tmp/ps_tail_trials")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--subsamples", type=int, default=100)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=str(ROOT / "tools/results/ps_tail_choice.json"))
    args = ap.parse_args()
    t0 = time.time()
    trials = reference_trials(Path(args.cache), args.threads)
    res = study(trials, args.subsamples, args.size, args.seed)
    res.update(args=vars(args), seconds=round(time.time() - t0),
               note="simulation: 10^4-trial subsamples of the 10^6-trial toy reference (no new trials)")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["summary"], indent=1))


if __name__ == "__main__":
    main()
