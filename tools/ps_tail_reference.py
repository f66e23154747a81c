"""Brute-force reference quantiles of the point-source background TS (for BackgroundTS's tail test).

Writes ``tests/stats/data/ps_tail_reference.json``: for each declination, the TS exceeded by a
fraction p of ``--trials`` RA-scrambled background trials of the point-source likelihood on toy data
(``icecore.ps.simulate_public_data``, one season), with a 68 % interval from the order statistics
(k +- sqrt(k) exceedances). The toy data are identified by the sha256 of their files, so the CI test
can tell when the toy generator changed and the reference must be rebuilt.

Usage (1-10 min single-threaded for 10^6 trials at two declinations, depending on load)::

    PYTHONPATH=python python tools/ps_tail_reference.py --trials 1000000 --threads 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

import icecore
from icecore import ps

#: toy data and analysis settings shared with tests/stats/test_background_ps_tail.py
TOY = {"seasons": ["IC86_II"], "n_events": 20_000, "seed": 1}
SOURCE_RA = 77.36
DECLINATIONS = [5.7, -30.0]
PROBS = [0.1, 0.01, float(stats.norm.sf(3.0)), 1e-4, 2e-5]


def toy_fingerprint(root: Path) -> str:
    """sha256 over the toy data files (names and bytes, sorted by relative path)."""
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def quantiles(ts_sorted_desc: np.ndarray, n: int) -> list[dict[str, float]]:
    out = []
    for p in PROBS:
        k = p * n
        lo_k, hi_k = k + np.sqrt(k), max(k - np.sqrt(k), 1.0)
        def at(kk: float) -> float:
            return float(ts_sorted_desc[int(round(kk)) - 1])
        out.append({"p": p, "k": k, "ts": at(k), "ts_lo": at(lo_k), "ts_hi": at(hi_k)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--out", default=str(Path(__file__).parents[1] / "tests/stats/data/ps_tail_reference.json"))
    ap.add_argument("--save-trials", default=None,
                    help="folder to save every trial TS in (dec<+-d>.npy, the cache of tools/ps_tail_choice_study.py)")
    args = ap.parse_args()
    keep = int(1.2 * max(PROBS) * args.trials) + 10
    with tempfile.TemporaryDirectory() as tmp:
        root = ps.simulate_public_data(Path(tmp) / "toy", seasons=TOY["seasons"], n_events=TOY["n_events"],
                                       seed=TOY["seed"])
        fingerprint = toy_fingerprint(root)
        data = ps.load_public_data(root)
        result = []
        for i, dec in enumerate(DECLINATIONS):
            t0 = time.time()
            ana = ps.PointSourceAnalysis(data, SOURCE_RA, dec, threads=args.threads)
            rng = np.random.default_rng([args.seed, i])
            top = np.empty(0)
            n_zero = 0
            done = 0
            saved = []
            while done < args.trials:
                k = min(20_000, args.trials - done)
                t = ana.trials(k, seed=rng, threads=args.threads, progress=False, batch=k).ts
                n_zero += int(np.count_nonzero(t <= 1e-8))
                top = np.sort(np.concatenate([top, t]))[-keep:]
                done += k
                if args.save_trials:
                    saved.append(t)
            if args.save_trials:
                Path(args.save_trials).mkdir(parents=True, exist_ok=True)
                np.save(Path(args.save_trials) / f"dec{dec:+g}.npy", np.concatenate(saved))
            desc = top[::-1]
            result.append({"dec_deg": dec, "ra_deg": SOURCE_RA, "n_trials": args.trials,
                           "eta": 1 - n_zero / args.trials, "max_ts": float(desc[0]),
                           "quantiles": quantiles(desc, args.trials), "seconds": round(time.time() - t0)})
            print(json.dumps(result[-1]))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    doc = {
        "provenance": {
            "script": "tools/ps_tail_reference.py", "icecore_version": icecore.__version__, "git_commit": commit,
            "command": f"python tools/ps_tail_reference.py --trials {args.trials} --seed {args.seed}",
            "toy": TOY, "toy_sha256": fingerprint, "trial_seed": args.seed,
            "interval": "68 % from order statistics: TS of the (k + sqrt k)-th and (k - sqrt k)-th largest trial",
        },
        "declinations": result,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
