"""Why the point-source bench got slower in session 3: work counts on the old and the new toy data.

The session-3 quiet bench (``bench/test_ps.py``) was the first on the fixed toy generator (commit
a10c7bc: smooth reco-energy threshold, a broader background energy law) and on another machine.
This study separates the data from the code without wall timings: with the *current* code it
writes the bench's input (3 seasons x 120 000 events, seed 5, one source at 77.35/+5.7 deg) once
with the toy generator of a10c7bc^ (old) and once with today's (new), and counts per data set

* the events of each season, their energy and AngErr distributions, the events in the 10-deg
  declination band and in SkyLLH's RA box around the bench source;
* the unblind fit's selected events and likelihood evaluations (kernel counters);
* the same counters summed over a full-sky scan (``--nside``, default 32), box selection;
* optionally (``--callgrind``) valgrind instruction counts of one construction / unblind in a
  fresh process, icecore and SkyLLH (``--callgrind`` runs the same script under valgrind).

Usage::

    nice -n 10 python tools/ps_bench_regression.py --out tools/results/ps_bench_regression.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SEASONS = ("IC79", "IC86_I", "IC86_II")
RA, DEC = 77.35, 5.7
COMPAT = {"selection": "box", "energy_weighting": "skyllh"}
OLD_TOY_COMMIT = "a10c7bc^"


def _old_toy(repo: Path):
    """The toy module of the commit before the generator fix, imported inside icecore.ps."""
    src = subprocess.run(["git", "-C", str(repo), "show", f"{OLD_TOY_COMMIT}:python/icecore/ps/toy.py"],
                         capture_output=True, text=True, check=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "toy_old.py"
    tmp.write_text(src)
    spec = importlib.util.spec_from_file_location("icecore.ps._toy_old", tmp)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_data(root: Path, repo: Path, n: int) -> dict[str, Path]:
    from icecore.ps import toy

    out = {}
    for name, mod in (("old", _old_toy(repo)), ("new", toy)):
        path = root / name
        if not (path / "events").is_dir():
            mod.simulate_public_data(path, seasons=SEASONS, n_events=n,
                                     sources=[{"ra": RA, "dec": DEC, "n": 60, "gamma": 2.0}], seed=5)
        out[name] = path
    return out


def _q(x: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in np.quantile(x, [0.1, 0.5, 0.9])]


def data_counts(path: Path) -> dict:
    from icecore.ps import load_public_data

    data = load_public_data(path)
    out = {}
    cone = 10.0
    for s in data.seasons:
        band = np.abs(s.dec_deg - DEC) <= cone
        half = cone / np.cos(np.radians(min(abs(DEC) + cone, 89.9)))
        dra = np.abs((s.ra_deg - RA + 180.0) % 360.0 - 180.0)
        box = band & (dra < half)
        out[s.name] = {
            "n_events": int(len(s)),
            "log10_e_q10_50_90": _q(s.log10_e),
            "angerr_deg_q10_50_90": _q(s.angerr_deg),
            "n_band": int(band.sum()),
            "n_box": int(box.sum()),
            "smearing_nonzero_cells": int(np.count_nonzero(s.smearing.frac)),
        }
    return out


def kernel_counts(path: Path, nside: int) -> dict:
    import healpy as hp

    from icecore.ps import PointSourceAnalysis, load_public_data
    from icecore.ps.engine import KernelEngine

    data = load_public_data(path)
    ana = PointSourceAnalysis(data, RA, DEC, **COMPAT)
    r = ana._eng.fit(np.radians(RA), np.radians(DEC), ana._cls)
    u = ana.unblind()
    res = {"unblind": {"ts": u.ts, "ns": u.ns, "gamma": u.gamma, "n_selected": u.n_selected}}
    # the kernel's n_eval is (likelihood evaluations in gamma) x 1000 + Newton steps in ns
    res["unblind"]["gamma_evals"] = int(r["n_eval"][0]) // 1000
    res["unblind"]["newton_steps"] = int(r["n_eval"][0]) % 1000
    npix = hp.nside2npix(nside)
    theta, phi = hp.pix2ang(nside, np.arange(npix))
    dec = 90.0 - np.degrees(theta)
    ra = np.degrees(phi)
    eng = KernelEngine(data, gamma_range=(1.0, 4.0), ns_max=1000.0, cone_deg=10.0, decs_deg=np.unique(dec),
                       band_dec_deg=None, **COMPAT)
    cls = eng.classes(dec)
    out = eng.scan(np.radians(ra), np.radians(dec), cls, 2)
    res["scan"] = {
        "nside": nside,
        "sum_n_selected": int(out["n_selected"].sum()),
        "sum_gamma_evals": int((out["n_eval"] // 1000).sum()),
        "sum_newton_steps": int((out["n_eval"] % 1000).sum()),
        "sum_selected_x_gamma_evals": float((out["n_selected"].astype(float) * (out["n_eval"] // 1000)).sum()),
        "ts_gt0_fraction": float(np.mean(out["ts"] > 0)),
        "n_classes": [len(k) for k in eng._class_keys],
    }
    return res


# ---------------------------------------------------------------- callgrind (fresh processes)
_PROBE = """
import sys
which, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
import numpy, scipy.interpolate
if which == 'icecore':
    from icecore.ps import load_public_data, PointSourceAnalysis
    for _ in range(reps):
        a = PointSourceAnalysis(load_public_data(path), 77.35, 5.7, selection='box', energy_weighting='skyllh')
elif which == 'icecore_unblind':
    from icecore.ps import load_public_data, PointSourceAnalysis
    a = PointSourceAnalysis(load_public_data(path), 77.35, 5.7, selection='box', energy_weighting='skyllh')
    for _ in range(reps):
        a.unblind()
elif which == 'skyllh':
    from icecore.ps.skyllh_ref import skyllh_analysis
    for _ in range(reps):
        ana, _ = skyllh_analysis(path, ('IC79', 'IC86_I', 'IC86_II'), 77.35, 5.7)
else:
    from icecore.ps.skyllh_ref import skyllh_analysis
    from skyllh.core.random import RandomStateService
    ana, _ = skyllh_analysis(path, ('IC79', 'IC86_I', 'IC86_II'), 77.35, 5.7)
    for _ in range(reps):
        ana.unblind(minimizer_rss=RandomStateService(seed=1))
"""


def _ir(which: str, path: Path, reps: int, pythonpath: str | None = None) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory() as tmp:
        outf = Path(tmp) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={outf}", sys.executable, "-c", _PROBE,
                        which, str(path), str(reps)], check=True, capture_output=True, env=env)
        for line in outf.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no callgrind summary")


def callgrind_counts(path: Path, which: str, reps: tuple[int, int], pythonpath: str | None = None) -> dict:
    a = _ir(which, path, reps[0], pythonpath)
    b = _ir(which, path, reps[1], pythonpath)
    return {"reps": list(reps), "ir": [a, b], "ir_per_call": (b - a) / (reps[1] - reps[0])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tools/results/ps_bench_regression.json")
    ap.add_argument("--data", default="/tmp/ps_bench_regression")
    ap.add_argument("--n", type=int, default=120_000)
    ap.add_argument("--nside", type=int, default=32)
    ap.add_argument("--code", default=None,
                    help="python/ folder of another checkout (built) whose icecore the callgrind probes use; "
                         "results go under callgrind_<label>")
    ap.add_argument("--label", default="other")
    ap.add_argument("--recount", action="store_true", help="recompute the data and kernel counts")
    ap.add_argument("--callgrind", nargs="*", default=[],
                    help="probes to count: icecore icecore_unblind skyllh skyllh_unblind")
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[1]
    outp = Path(args.out)
    result = json.loads(outp.read_text()) if outp.exists() else {}
    result["setup"] = {"n_per_season": args.n, "seasons": SEASONS, "old_toy": OLD_TOY_COMMIT, "seed": 5,
                       "source": [RA, DEC], "config": COMPAT}
    paths = write_data(Path(args.data), repo, args.n)
    for name, path in paths.items():
        entry = result.setdefault(name, {})
        if args.code is None and ("data" not in entry or args.recount):
            entry["data"] = data_counts(path)
            entry["kernel"] = kernel_counts(path, args.nside)
            outp.write_text(json.dumps(result, indent=1))
        for which in args.callgrind:
            reps = (1, 3) if which in ("icecore", "skyllh") else (2, 12)
            if which == "skyllh_unblind":
                reps = (1, 4)
            key = "callgrind" if args.code is None else f"callgrind_{args.label}"
            entry.setdefault(key, {})[which] = callgrind_counts(path, which, reps, args.code)
            outp.write_text(json.dumps(result, indent=1))
            print(name, key, which, entry[key][which], flush=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
