"""Why per-event calibrated contours under-cover: resimulation truths compared (issue #13 item 1).

SIMULATION ONLY (photon simulator, mismatch ON; the same events as tools/per_event_coverage.py with
the same --seed). For each event the statistic at its own truth (cheap minimum, started from its
true track) is ranked among ``--n`` resimulations made at several choices of the resimulation
truth:

- ``best``: the event's best fit (direction and vertex) and its hit-count energy estimate (what
  ``calibrate_event`` did);
- ``oracle``: the true track and the true energy (exchangeable with the event: must cover exactly);
- ``truth_track_est_energy``: the true track, the estimated energy;
- ``best_track_true_energy``: the best-fit track, the true energy;
- ``truth_dir_best_vertex`` / ``best_dir_truth_vertex``: one of direction / closest-approach point
  from the truth, the other from the best fit (estimated energy);
- ``pivot``: resimulations at truths drawn by reflecting the ``best`` resimulations' fit errors
  about the best fit (:func:`reflected_truths`; measured no better than ``best``).

Records go to ``<out>.jsonl`` (one per event, restartable); the summary (coverage at the ranks of
50 % and 90 % and the PIT histogram per variant) to ``<out>``. Run with ``nice -n 10``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from multiprocessing import Pool
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from icecore.coords import equatorial_to_icecube  # noqa: E402
from icecore.scan import calibration as cal  # noqa: E402
from icecore.scan.events import simulate_event, true_direction  # noqa: E402

MODEL = cal.ResimulationModel(mismatch=True, minimum="truth")
VARIANTS = os.environ.get("DIAG_VARIANTS", "best,oracle,truth_track_est_energy,best_track_true_energy,"
                          "truth_dir_best_vertex,best_dir_truth_vertex").split(",")


def _unit_vector(zen_deg: float, azi_deg: float) -> np.ndarray:
    z, a = np.radians(zen_deg), np.radians(azi_deg)
    return np.array([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])


def _reflect_direction(b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The direction the rotation taking ``f`` to ``b`` (about ``f x b``) takes ``b`` to."""
    k = np.cross(f, b)
    s = float(np.linalg.norm(k))
    if s < 1e-15:
        return b.copy()
    k /= s
    c = float(np.clip(f @ b, -1.0, 1.0))
    return b * c + np.cross(k, b) * s


def reflected_truths(best: cal.BestFit, first_pass: Sequence[Mapping[str, Any]], *, n: int,
                     rng: np.random.Generator) -> list[cal.BestFit]:
    """``n`` resimulation truths drawn from the event's approximate confidence region.

    ``first_pass`` are results of :func:`two_dllh_at_truth` on resimulations *at* ``best``
    (``zenith_deg``, ``azimuth_deg``, ``vertex`` of each one's fit). Each gives one draw of the fit
    error (fit ⊖ truth) of events like this one: the direction error as the rotation taking the
    resimulation's fit to ``best`` (its truth), the track-position error as the shift of the
    closest-approach point and of the time the muon passes it. Applying that error *reversed* to
    the event's own best fit gives a point where the truth may lie (the bootstrap pivot: if
    ``fit = truth + error`` then ``truth = fit - error``, with the error distribution estimated at
    the best fit). This corrects the first-order bias of the fit and spreads the resimulation
    truths over the region the truth is in, instead of putting them all at the best fit. The
    ``n`` truths cycle through the finite first-pass errors in a random order (with replacement
    when ``n`` exceeds them); energy and MJD are ``best``'s.
    """
    errs = [r for r in first_pass if np.isfinite(r.get("two_dllh", np.nan)) and "vertex" in r
            and np.all(np.isfinite(r["vertex"]))]
    if not errs:
        raise cal.InputError("argument 'first_pass': no finite first-pass resimulation to take fit errors from",
                         "first_pass")
    b = _unit_vector(best.zenith_deg, best.azimuth_deg)
    q_b, t_b = cal.closest_approach(best.vertex, best.zenith_deg, best.azimuth_deg)
    order = np.concatenate([rng.permutation(len(errs)) for _ in range(-(-int(n) // len(errs)))])[: int(n)]
    out = []
    for j in order:
        r = errs[int(j)]
        f = _unit_vector(float(r["zenith_deg"]), float(r["azimuth_deg"]))
        c = _reflect_direction(b, f)
        q_f, t_f = cal.closest_approach(r["vertex"], float(r["zenith_deg"]), float(r["azimuth_deg"]))
        q_c = q_b - (q_f - q_b)
        q_c = q_c - (q_c @ c) * c  # the closest-approach point of the reflected track
        t_c = t_b - (t_f - t_b)
        zen = float(np.degrees(np.arccos(np.clip(c[2], -1.0, 1.0))))
        azi = float(np.degrees(np.arctan2(c[1], c[0])) % 360.0)
        out.append(cal.BestFit(zen, azi, (float(q_c[0]), float(q_c[1]), float(q_c[2]), float(t_c)), best.mjd,
                           best.energy_tev))
    return out


def _event(seed: int, i: int, energy: float) -> tuple[Any, np.random.SeedSequence]:
    s_ev, s_cal = np.random.SeedSequence([seed, i]).spawn(2)
    return simulate_event(seed=np.random.default_rng(s_ev), energy_tev=energy, mismatch=True), s_cal


def _resims(best: cal.BestFit, n: int, seed: int) -> list[dict[str, Any]]:
    kind = cal._PhotonKind()
    out = []
    for c in np.random.SeedSequence(seed).spawn(n):
        try:
            ev = kind.simulate(np.random.default_rng(c), best, MODEL)
            r = cal.two_dllh_at_truth(ev, best.zenith_deg, best.azimuth_deg, model=MODEL, truth_vertex=best.vertex)
            out.append(r)
        except cal.InputError:
            out.append({"two_dllh": float("nan")})
    return out


def one_event(task: dict[str, Any]) -> dict[str, Any]:
    i, seed, energy, n = task["i"], task["seed"], task["energy_tev"], task["n"]
    ev, s_cal = _event(seed, i, energy)
    ra, dec = true_direction(ev)  # type: ignore[misc]
    zt, at = (float(x) for x in equatorial_to_icecube(ra, dec, ev.mjd))
    tv = [float(x) for x in ev.meta["truth"]["vertex"]]
    own = cal.two_dllh_at_truth(ev, zt, at, model=MODEL, truth_vertex=tv)
    best = cal.best_fit_of(ev, model=MODEL)
    best = cal._with_energy(ev, best, MODEL, int(s_cal.generate_state(1)[0]))
    e_est = float(best.energy_tev)
    q_true, t_true = np.asarray(tv[:3]), tv[3]
    q_best, t_best = cal.closest_approach(best.vertex, best.zenith_deg, best.azimuth_deg)

    def bf(zen: float, azi: float, q: Any, t: float, e: float) -> cal.BestFit:
        return cal.BestFit(zen, azi, (float(q[0]), float(q[1]), float(q[2]), float(t)), ev.mjd, e)

    truths = {
        "best": best,
        "oracle": bf(zt, at, q_true, t_true, energy),
        "truth_track_est_energy": bf(zt, at, q_true, t_true, e_est),
        "best_track_true_energy": bf(best.zenith_deg, best.azimuth_deg, q_best, t_best, energy),
        "truth_dir_best_vertex": bf(zt, at, q_best, t_best, e_est),
        "best_dir_truth_vertex": bf(best.zenith_deg, best.azimuth_deg, q_true, t_true, e_est),
    }
    rec: dict[str, Any] = {"i": i, "energy_tev": energy, "energy_estimate_tev": e_est, "dec_deg": dec,
                           "stat_truth": own["two_dllh"], "n_hit_doms": ev.meta["truth"]["n_hit_doms"],
                           "best_offset_deg": float(np.degrees(np.arccos(np.clip(
                               _unit(zt, at) @ _unit(best.zenith_deg, best.azimuth_deg), -1, 1)))),
                           "samples": {}, "cpu_s": {}}
    sub = int(s_cal.generate_state(2)[1])
    first: list[dict[str, Any]] | None = None
    for name in VARIANTS:
        c0 = _cpu()
        if name == "iterated":
            it = cal.calibrate_event(ev, n=n, model=cal.ResimulationModel(mismatch=True, minimum="truth",
                                                                          truth="iterated"),
                                     seed=sub + 7, threads=1, best_fit=best, progress=False)
            rec["samples"]["iter_first"] = [round(float(x), 4) for x in it.samples]
            rec["samples"]["iter_second"] = [round(float(x), 4) for x in it.second_samples]
            rec["iterated_levels"] = it.levels
            rec["cpu_s"][name] = round(_cpu() - c0, 2)
            continue
        if name == "pivot":
            if first is None:
                first = _resims(best, n, sub)
            pts = reflected_truths(best, first, rng=np.random.default_rng(sub + 1), n=n)
            res = []
            for k, p in enumerate(pts):
                res += _resims(p, 1, sub + 100 + k)
        else:
            res = _resims(truths[name], n, sub)
            if name == "best":
                first = res
        rec["samples"][name] = [round(float(r["two_dllh"]), 4) for r in res]
        rec["cpu_s"][name] = round(_cpu() - c0, 2)
    return rec


def _unit(zen: float, azi: float) -> np.ndarray:
    z, a = np.radians(zen), np.radians(azi)
    return np.array([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _frac(mask: np.ndarray) -> dict[str, float]:
    n = int(mask.size)
    p = float(mask.mean()) if n else float("nan")
    return {"fraction": round(p, 4), "error": round(float(np.sqrt(p * (1 - p) / n)), 4) if n else None, "n": n}


def _q(samples: Any, q: float) -> float:
    return float(cal.order_statistic_quantile(samples, q)["value"])


def _log_ratio(recs: list[dict[str, Any]], num: Any, den: Any, q: float) -> dict[str, float]:
    lr = np.array([np.log(max(num(r, q), 1e-6) / max(den(r, q), 1e-6)) for r in recs])
    return {"mean": round(float(lr.mean()), 3), "error": round(float(lr.std(ddof=1) / np.sqrt(lr.size)), 3),
            "median": round(float(np.median(lr)), 3), "n": int(lr.size)}


def summarise(recs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"what": "SIMULATION: coverage of per-event levels by choice of resimulation truth",
                           "n_events": len(recs), "variants": {}, "level_log_ratio_to_oracle": {}}
    names = sorted({k for r in recs for k in r["samples"]})
    with_oracle = [r for r in recs if "oracle" in r["samples"]]
    for name in names:
        paired = [r for r in with_oracle if name in r["samples"]]
        if paired and name != "oracle":
            out["level_log_ratio_to_oracle"][name] = {
                lab: _log_ratio(paired, lambda r, q, nm=name: _q(r["samples"][nm], q),
                                lambda r, q: _q(r["samples"]["oracle"], q), q) for lab, q in (("50", .5), ("90", .9))}
    it = [r for r in with_oracle if "iterated_levels" in r]
    if it:
        out["level_log_ratio_to_oracle"]["iterated (Q1^2/Q2)"] = {
            lab: _log_ratio(it, lambda r, q: r["iterated_levels"][f"{100 * q:g}"],
                            lambda r, q: _q(r["samples"]["oracle"], q), q) for lab, q in (("50", .5), ("90", .9))}
    it2 = [r for r in recs if "iter_second" in r["samples"]]
    if it2:
        out["second_step_log_ratio (Q2/Q1)"] = {
            lab: _log_ratio(it2, lambda r, q: _q(r["samples"]["iter_second"], q),
                            lambda r, q: _q(r["samples"]["iter_first"], q), q) for lab, q in (("50", .5), ("90", .9))}
    for name in names:
        rs = [r for r in recs if name in r["samples"] and np.isfinite(r["stat_truth"])]
        cov, pit = {}, []
        for lab, q in (("50", 0.5), ("90", 0.9)):
            inside = []
            for r in rs:
                s = np.sort(np.asarray(r["samples"][name], float))
                s = s[np.isfinite(s)]
                k = int(np.ceil(q * (s.size + 1) - 1e-9))
                inside.append(r["stat_truth"] <= s[k - 1])
            cov[lab] = _frac(np.array(inside))
        for r in rs:
            s = np.asarray(r["samples"][name], float)
            s = s[np.isfinite(s)]
            pit.append(float(np.mean(s < r["stat_truth"])))
        med_lv = float(np.median([np.nanquantile(r["samples"][name], 0.9) for r in rs]))
        hist = np.histogram(pit, bins=10, range=(0, 1))[0].tolist()
        out["variants"][name] = {"coverage": cov, "pit_histogram_10_bins": hist,
                                 "median_level90": round(med_lv, 3),
                                 "cpu_s_median": float(np.median([r["cpu_s"].get(name, np.nan) for r in rs]))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=60)
    ap.add_argument("--first", type=int, default=0, help="index of the first event")
    ap.add_argument("--n", type=int, default=39)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--energy-tev", type=float, nargs=2, default=(10.0, 1000.0))
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "per_event_coverage_diagnose.json")
    ap.add_argument("--summarise", action="store_true")
    ap.add_argument("--merge", type=Path, nargs="*", default=[], help="more .jsonl of other variants to join")
    args = ap.parse_args(argv)
    jsonl = args.out.with_suffix(".jsonl")
    done: dict[int, dict[str, Any]] = {}
    for path in [jsonl, *args.merge]:  # --merge: records of other runs on the same events join by index
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    if r["i"] in done and path != jsonl:
                        done[r["i"]]["samples"].update(r["samples"])
                        done[r["i"]].update({k: v for k, v in r.items() if k not in done[r["i"]]})
                    else:
                        done[r["i"]] = r
    if not args.summarise:
        rng = np.random.default_rng(args.seed)
        lo, hi = args.energy_tev
        energies = np.exp(rng.uniform(np.log(lo), np.log(hi), args.first + args.events))
        tasks = [{"i": i, "seed": args.seed, "energy_tev": float(energies[i]), "n": args.n}
                 for i in range(args.first, args.first + args.events) if i not in done]
        t0 = time.time()
        with Pool(args.processes) as pool, jsonl.open("a") as fh:
            for k, rec in enumerate(pool.imap_unordered(one_event, tasks)):
                done[rec["i"]] = rec
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                if k % 5 == 0:
                    print(f"{k + 1}/{len(tasks)} events, {time.time() - t0:.0f} s", flush=True)
    summary = summarise(list(done.values()))
    args.out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
