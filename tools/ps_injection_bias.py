"""Bias of the fitted ns against an independent truth: files written with exactly k signal events.

Issue #13 item 3. For each injected count k and repetition, the toy writer
(:func:`icecore.ps.simulate_public_data` with ``"exact": True``) writes background plus exactly k
signal events of an E^-2 point source (the truth is recorded in ``truth.json`` beside the files);
the files are fitted

* by icecore (default likelihood, and SkyLLH-compatible mode ``selection="box",
  energy_weighting="skyllh"``), with gamma free in [1, 4] and fixed at 2;
* by SkyLLH (:mod:`icecore.ps.skyllh_ref`, its ``create_analysis`` + ``unblind``) with gamma
  free, and at gamma = 2 by maximising SkyLLH's own log-likelihood ratio over ns (bounded Brent).

Parts (``--part``):

``bias``      the grid of k at one declination (``--dec``; ``--no-skyllh`` for icecore only);
``injectors`` icecore's and SkyLLH's injectors against the writer at k events: injected counts,
              their distribution over seasons, mean reco log10 E, median angular offset and AngErr
              of the injected events, and the ns recovered from RA-scrambled background + injection;
``stops``     SkyLLH background trials that end at ns = 0 although SkyLLH's own log-likelihood
              ratio is positive somewhere on an (ns, gamma) grid;
``sens_same_llh`` P(TS > background median) of icecore's SkyLLH-compatible likelihood for signal injected
              by icecore, by SkyLLH as released and by SkyLLH with upper-edge knots (same fit);
``contamination`` files with exactly k signal events fitted with background PDFs built from the file
              and from its background events alone (the same seed without the source): the effect
              of the signal events on the data-built background PDFs;
``sens_stops`` SkyLLH's P(TS > background median) as released and with the trials where its minimiser
              stopped at ns = 0 despite a positive log-likelihood ratio refitted (background and signal);
``sens``      P(TS > background median) at a few mean injected counts for icecore (SkyLLH-compatible
              likelihood) and SkyLLH, with SkyLLH's true-energy sampler as released or with its
              inverse-CDF knots moved from the bin centres to the bin upper edges (``--fixed-sampler``);
``report``    combine the JSON files of the other parts (``--inputs``) into ``--json`` and a
              markdown table (``--markdown``).

All results are simulation (the toy detector of :mod:`icecore.ps.toy`, not IceCube data).

Usage::

    PYTHONPATH=python nice -n 10 python tools/ps_injection_bias.py --part bias --dec 5.7 --reps 15
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import optimize

from icecore.ps import PointSourceAnalysis, simulate_public_data
from icecore.ps.model import sample_signal

RA = 77.35
GAMMA = 2.0
SEASONS = ("IC79", "IC86_I", "IC86_II")
COMPAT = {"selection": "box", "energy_weighting": "skyllh"}


def _stats(x: list[float], k: int) -> dict[str, float]:
    a = np.asarray(x, dtype=float)
    n = a.size
    out = {"n": n, "mean": float(a.mean()), "err": float(a.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
           "median": float(np.median(a))}
    if k > 0:
        out["bias_rel"] = (out["mean"] - k) / k
        out["bias_rel_err"] = out["err"] / k
    else:
        out["bias_abs"] = out["mean"]
    return out


def _skyllh_fixed_gamma(ana, gamma: float) -> tuple[float, float]:
    """(ns, TS) maximising SkyLLH's own log-likelihood ratio over ns at fixed gamma (trial already set)."""
    def f(ns: float) -> float:
        return -float(ana.llhratio.evaluate(np.array([ns, gamma]))[0])

    r = optimize.minimize_scalar(f, bounds=(0.0, 200.0), method="bounded", options={"xatol": 1e-4})
    ns, val = float(r.x), -float(r.fun)
    if val <= 0 or ns < 1e-3:
        return 0.0, 0.0
    return ns, 2.0 * val


def part_bias(args: argparse.Namespace) -> dict:
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="ps_bias_"))
    try:
        for k in args.k:
            for rep in range(args.rep_start, args.rep_start + args.reps):
                seed = 100_000 * int(args.dec * 10 % 1000) + 1000 * k + rep
                path = tmp / f"k{k}_r{rep}"
                simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=seed,
                                     sources=[{"ra": RA, "dec": args.dec, "n": k, "gamma": GAMMA, "exact": True}])
                truth = json.loads((path / "truth.json").read_text())["sources"][0]
                assert truth["n_written"] == k
                row: dict = {"k": k, "rep": rep, "seed": seed, "n_written_per_season": truth["n_written_per_season"]}
                for label, kw in (("icecore", {}), ("icecore_compat", COMPAT)):
                    free = PointSourceAnalysis(path, RA, args.dec, threads=1, **kw).unblind()
                    fixed = PointSourceAnalysis(path, RA, args.dec, threads=1, gamma_range=(GAMMA, GAMMA),
                                                **kw).unblind()
                    row[label] = {"ns_free": free.ns, "gamma_free": free.gamma, "ts_free": free.ts,
                                  "ns_fixed": fixed.ns, "ts_fixed": fixed.ts}
                if not args.no_skyllh:
                    ana, _ = skyllh_analysis(str(path), SEASONS, RA, args.dec)
                    ts, p, _ = ana.unblind(minimizer_rss=RandomStateService(seed=1))
                    ns_fx, ts_fx = _skyllh_fixed_gamma(ana, GAMMA)
                    row["skyllh"] = {"ns_free": float(p["ns"]), "gamma_free": float(p["gamma"]), "ts_free": float(ts),
                                     "ns_fixed": ns_fx, "ts_fixed": ts_fx}
                rows.append(row)
                print(json.dumps(row), flush=True)
                shutil.rmtree(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tools = [t for t in ("icecore", "icecore_compat", "skyllh") if t in rows[0]]
    summary: dict = {}
    for k in args.k:
        sel = [r for r in rows if r["k"] == k]
        summary[str(k)] = {t: {f: _stats([r[t][f] for r in sel], k) for f in ("ns_free", "ns_fixed")}
                           | {"gamma_free_median": float(np.median([r[t]["gamma_free"] for r in sel])),
                              "ts0_fraction_free": float(np.mean([r[t]["ts_free"] <= 0 for r in sel]))}
                           for t in tools}
    return {"dec": args.dec, "n_bkg_per_season": args.n_bkg, "seasons": SEASONS, "gamma_injected": GAMMA,
            "reps": args.reps, "rows": rows, "summary": summary}


def part_injectors(args: argparse.Namespace) -> dict:
    """Writer vs icecore's injector vs SkyLLH's injector at (RA, dec), k events."""
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    tmp = Path(tempfile.mkdtemp(prefix="ps_inj_"))
    out: dict = {"dec": args.dec, "n_bkg_per_season": args.n_bkg, "gamma_injected": GAMMA}
    try:
        path = tmp / "bkg"
        simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=4242)
        ana = PointSourceAnalysis(path, RA, args.dec, threads=1)
        shares = ana.season_shares(GAMMA)
        sk, _ = skyllh_analysis(str(path), SEASONS, RA, args.dec, construct_sig_generator=True)
        rng = np.random.default_rng(7)
        rss = RandomStateService(seed=7)
        n_sets = args.sets
        # --- event properties: writer (== icecore injector: both use model.sample_signal), SkyLLH
        props: dict = {}
        writer_counts = np.array([rng.multinomial(args.inject_k, list(shares.values())) for _ in range(n_sets)])
        ev = {name: sample_signal(m.season.aeff, m.season.smearing, rng, int(writer_counts[:, j].sum()), RA, args.dec,
                                  GAMMA) for j, (name, m) in enumerate(zip(ana.season_names, ana._eng.models))}
        props["writer_and_icecore"] = _props(np.concatenate([e["log10_e"] for e in ev.values()]),
                                             np.concatenate([e["ra_deg"] for e in ev.values()]),
                                             np.concatenate([e["dec_deg"] for e in ev.values()]),
                                             np.concatenate([e["angerr_deg"] for e in ev.values()]), args.dec)
        from icecore.ps.model import true_energy_weights
        for wname in ("exact", "skyllh"):  # mean true log10 E at the smearing bin centres, IC86_II
            m = ana._eng.models[-1]
            te = m.season.smearing.log10_e_true_edges
            w = true_energy_weights(m.season.aeff, m.season.smearing, args.dec, [GAMMA], wname)[0]
            props[f"true_energy_weights_{wname}_log10_e_true_mean"] = float(w @ (0.5 * (te[1:] + te[:-1])))
        props["writer_and_icecore"]["season_share"] = dict(zip(ana.season_names,
                                                               (writer_counts.sum(0) / writer_counts.sum()).tolist()))
        sk_counts, le, ra, de, ae, lt = [], [], [], [], [], []
        for _ in range(n_sets):
            n, evs = sk.sig_generator.generate_signal_events(rss, args.inject_k, poisson=False)
            sk_counts.append([0 if evs.get(j) is None else len(evs[j]) for j in range(len(SEASONS))])
            for v in evs.values():
                if v is None:
                    continue
                le.append(v["log_energy"])
                lt.append(v["log_true_energy"])
                ra.append(np.degrees(v["ra"]))
                de.append(np.degrees(v["dec"]))
                ae.append(np.degrees(v["ang_err"]))
        sk_counts_a = np.array(sk_counts)
        props["skyllh"] = _props(np.concatenate(le), np.concatenate(ra), np.concatenate(de), np.concatenate(ae),
                                 args.dec)
        props["skyllh"]["log10_e_true_mean"] = float(np.mean(np.concatenate(lt)))
        props["skyllh"]["season_share"] = dict(zip(SEASONS, (sk_counts_a.sum(0) / sk_counts_a.sum()).tolist()))
        props["skyllh"]["count_per_set"] = {"mean": float(sk_counts_a.sum(1).mean()),
                                            "std": float(sk_counts_a.sum(1).std())}
        out["event_properties"] = props
        # --- ns recovered: RA-scrambled background + each tool's injector (Poisson mean k, both)
        rec: dict = {}
        for k in args.k:
            if k == 0:
                continue
            tr = ana.trials(args.trials, seed=11 + k, ns_inject=float(k), gamma_inject=GAMMA, progress=False)
            rec_k = {"icecore": {"n_injected_mean": float(tr.n_injected.mean()),
                                 "ns_free": _stats(list(tr.ns), k), "gamma_free_median": float(np.median(tr.gamma)),
                                 "ns_minus_injected": _stats(list(tr.ns - tr.n_injected), 0)}}
            trc = PointSourceAnalysis(path, RA, args.dec, threads=1, **COMPAT).trials(
                args.trials, seed=11 + k, ns_inject=float(k), gamma_inject=GAMMA, progress=False)
            rec_k["icecore_compat"] = {"ns_free": _stats(list(trc.ns), k),
                                       "gamma_free_median": float(np.median(trc.gamma)),
                                       "ns_minus_injected": _stats(list(trc.ns - trc.n_injected), 0)}
            t0 = time.perf_counter()
            res = [sk.do_trial(rss=rss, mean_n_sig=float(k), minimizer_rss=rss) for _ in range(args.trials)]
            ns = [float(r["ns"][0]) for r in res]
            nsig = [int(r["n_sig"][0]) for r in res]
            rec_k["skyllh"] = {"n_injected_mean": float(np.mean(nsig)),
                               "ns_minus_injected": _stats([a - b for a, b in zip(ns, nsig)], 0),
                               "ns_free": _stats(ns, k), "gamma_free_median": float(np.median([r["gamma"][0]
                                                                                            for r in res])),
                               "seconds": time.perf_counter() - t0}
            rec[str(k)] = rec_k
            print(json.dumps({str(k): rec_k}), flush=True)
        out["recovered_from_injection"] = rec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _props(log_e, ra, dec, angerr, dec0) -> dict:
    from icecore.ps.model import offset_directions  # noqa: F401  (same convention as the sampler)

    d0, a0 = np.radians(dec0), np.radians(RA)
    d, a = np.radians(dec), np.radians(ra)
    cospsi = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    psi = np.degrees(np.arccos(np.clip(cospsi, -1, 1)))
    n = len(log_e)
    return {"n_events": n, "log10_e_mean": float(np.mean(log_e)), "log10_e_mean_err": float(np.std(log_e) / np.sqrt(n)),
            "psi_median_deg": float(np.median(psi)), "angerr_median_deg": float(np.median(angerr)),
            "psi_over_angerr_median": float(np.median(psi / angerr))}


def part_stops(args: argparse.Namespace) -> dict:
    """SkyLLH background trials ending at ns = 0 while its own log-likelihood ratio is positive."""
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    tmp = Path(tempfile.mkdtemp(prefix="ps_stop_"))
    try:
        path = tmp / "bkg"
        simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=4243)
        sk, _ = skyllh_analysis(str(path), SEASONS, RA, args.dec)
        ours = PointSourceAnalysis(path, RA, args.dec, threads=1, **COMPAT)
        rss = RandomStateService(seed=3)
        grid_ns = np.array([0.25, 0.5, 1, 2, 4, 8, 16])
        grid_g = np.arange(1.0, 4.01, 0.25)
        n0 = n_pos = 0
        best_vals = []
        for _ in range(args.trials):
            r = sk.do_trial(rss=rss, mean_n_sig=0, minimizer_rss=rss)
            if float(r["ns"][0]) > 1e-6:
                continue
            n0 += 1
            vals = np.array([[float(sk.llhratio.evaluate(np.array([ns, g]))[0]) for g in grid_g] for ns in grid_ns])
            if vals.max() > 0:
                n_pos += 1
                best_vals.append(float(vals.max()))
        bg = ours.trials(args.trials, seed=3, progress=False)
        return {"dec": args.dec, "n_bkg_per_season": args.n_bkg, "trials": args.trials,
                "skyllh_ns0_fraction": n0 / args.trials,
                "skyllh_ns0_with_positive_llh_fraction_of_all": n_pos / args.trials,
                "skyllh_ns0_with_positive_llh_fraction_of_ns0": n_pos / max(n0, 1),
                "positive_max_log_lambda_median": float(np.median(best_vals)) if best_vals else None,
                "icecore_compat_ts0_fraction": float(np.mean(bg.ts <= 0)),
                "grid_ns": grid_ns.tolist(), "grid_gamma": grid_g.tolist()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _skyllh_refit_if_stopped(sk, ts: float, ns: float) -> tuple[float, bool]:
    """SkyLLH's TS of its last trial, refitted when its minimiser stopped at ns = 0 although its own
    log-likelihood ratio is positive on an (ns, gamma) grid: bounded L-BFGS-B on that same
    log-likelihood ratio from the best grid point. Returns (TS, was_refitted)."""
    if ns > 1e-6:
        return ts, False
    grid = [(n, g) for n in (0.25, 0.5, 1, 2, 4, 8, 16) for g in np.arange(1.0, 4.01, 0.25)]
    vals = [float(sk.llhratio.evaluate(np.array([n, g]))[0]) for n, g in grid]
    best = int(np.argmax(vals))
    if vals[best] <= 0:
        return ts, False
    r = optimize.minimize(lambda p: -float(sk.llhratio.evaluate(np.asarray(p, dtype=float))[0]), grid[best],
                          method="L-BFGS-B", bounds=[(0.0, 1000.0), (1.0, 4.0)])
    return 2.0 * max(-float(r.fun), vals[best]), True


def part_sens_stops(args: argparse.Namespace) -> dict:
    """P(TS > background median) of SkyLLH as released, and with its ns = 0 stops refitted (background
    and signal trials alike), on the files of ``sens`` (seed 4244)."""
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    tmp = Path(tempfile.mkdtemp(prefix="ps_sens_stops_"))
    out: dict = {"dec": args.dec, "trials": args.trials, "k": {}}
    try:
        path = tmp / "bkg"
        simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=4244)
        sk, _ = skyllh_analysis(str(path), SEASONS, RA, args.dec, construct_sig_generator=True)
        rss = RandomStateService(seed=7)

        def run(k: float) -> tuple[np.ndarray, np.ndarray, int, int]:
            ts0, ts1, n_stop, n_ref = [], [], 0, 0
            for _ in range(args.trials):
                r = sk.do_trial(rss=rss, mean_n_sig=k, minimizer_rss=rss)
                ts, ns = float(r["ts"][0]), float(r["ns"][0])
                fixed, refit = _skyllh_refit_if_stopped(sk, ts, ns)
                n_stop += ns <= 1e-6
                n_ref += refit
                ts0.append(ts)
                ts1.append(fixed)
            return np.array(ts0), np.array(ts1), n_stop, n_ref

        bg0, bg1, s0, r0 = run(0.0)
        med0, med1 = float(np.median(bg0)), float(np.median(bg1))
        out.update(bg_median_released=med0, bg_median_refitted=med1, bg_ns0_fraction=s0 / args.trials,
                   bg_refitted_fraction=r0 / args.trials)
        print(json.dumps(out), flush=True)
        for k in args.k:
            if k == 0:
                continue
            t0, t1, s1, r1 = run(float(k))
            f0, f1 = float(np.mean(t0 > med0)), float(np.mean(t1 > med1))
            out["k"][str(k)] = {"frac_above_median_released": f0, "frac_above_median_refitted": f1,
                                "frac_err": float(np.sqrt(max(f0 * (1 - f0), 1e-4) / args.trials)),
                                "ns0_fraction": s1 / args.trials, "refitted_fraction": r1 / args.trials}
            print(json.dumps({k: out["k"][str(k)]}), flush=True)
            Path(args.json).write_text(json.dumps({**out, "partial": True}, indent=1))
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _upper_edge_inv_cdf(self, src_idx: int, fluxmodel, log_e_min, log_e_max):
    """SkyLLH's ``_create_inv_cdf_spline`` with the cumulative probability of each bin at its upper edge."""
    from scipy import interpolate

    effa = self._effA_arr[src_idx]
    m = (effa.log10_enu_bincenters >= log_e_min) & (effa.log10_enu_bincenters < log_e_max)
    lo, hi = effa.log10_enu_binedges_lower[m], effa.log10_enu_binedges_upper[m]
    flux = fluxmodel.energy_profile.get_integral(E1=10**lo, E2=10**hi)
    prob = flux * effa.det_prob
    prob = np.where(prob > 0, prob, prob[prob > 0].min() / 1000)
    prob = prob / prob.sum()
    cum = np.concatenate([[0.0], np.cumsum(prob)])
    cum[-1] = 1.0
    return interpolate.splrep(cum, np.concatenate([[lo[0]], hi]), k=1, s=0)


def part_sens(args: argparse.Namespace) -> dict:
    from skyllh.analyses.i3.publicdata_ps import signal_generator as sg
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    if args.fixed_sampler:
        cls = next(c for c in vars(sg).values() if isinstance(c, type) and "_create_inv_cdf_spline" in vars(c))
        cls._create_inv_cdf_spline = _upper_edge_inv_cdf
    tmp = Path(tempfile.mkdtemp(prefix="ps_sens_"))
    try:
        path = tmp / "bkg"
        simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=4244)
        sk, _ = skyllh_analysis(str(path), SEASONS, RA, args.dec, construct_sig_generator=True)
        ours = PointSourceAnalysis(path, RA, args.dec, threads=1, **COMPAT)
        rss = RandomStateService(seed=5)
        lt = [v["log_true_energy"] for _ in range(200)
              for v in sk.sig_generator.generate_signal_events(rss, 20, poisson=False)[1].values() if v is not None]
        sk_bg = np.array([float(sk.do_trial(rss=rss, mean_n_sig=0, minimizer_rss=rss)["ts"][0])
                          for _ in range(args.trials)])
        our_bg = ours.trials(2000, seed=5, progress=False).ts
        out: dict = {"dec": args.dec, "fixed_sampler": bool(args.fixed_sampler), "trials": args.trials,
                     "skyllh_injected_log10_e_true_mean": float(np.mean(np.concatenate(lt))),
                     "skyllh_bg_median_ts": float(np.median(sk_bg)), "icecore_bg_median_ts": float(np.median(our_bg)),
                     "k": {}}
        for k in args.k:
            if k == 0:
                continue
            res = [sk.do_trial(rss=rss, mean_n_sig=float(k), minimizer_rss=rss) for _ in range(args.trials)]
            ts = np.array([float(r["ts"][0]) for r in res])
            tr = ours.trials(1000, seed=50 + k, ns_inject=float(k), gamma_inject=GAMMA, progress=False)
            f_sk = float(np.mean(ts > out["skyllh_bg_median_ts"]))
            f_ic = float(np.mean(tr.ts > out["icecore_bg_median_ts"]))
            out["k"][str(k)] = {"skyllh_frac_above_median": f_sk,
                                "skyllh_frac_err": float(np.sqrt(f_sk * (1 - f_sk) / len(ts))),
                                "icecore_frac_above_median": f_ic,
                                "icecore_frac_err": float(np.sqrt(f_ic * (1 - f_ic) / len(tr.ts))),
                                "skyllh_ns_mean": float(np.mean([r["ns"][0] for r in res])),
                                "icecore_ns_mean": float(tr.ns.mean())}
            print(json.dumps({k: out["k"][str(k)]}), flush=True)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fit_with_background_from(full: Path, bkg_only: Path, gamma_range: tuple[float, float]):
    """Fit the events of ``full`` with background PDFs built from ``bkg_only`` (the same background events).

    The season models are built from the background-only seasons and then given the full seasons'
    events, so only the data-built background PDFs differ from a plain fit of ``full``.
    """
    from icecore.ps import engine, load_public_data
    from icecore.ps.model import SeasonModel

    bkg = {s.name: s for s in load_public_data(bkg_only).seasons}

    def model(season, grid, weighting="exact"):
        m = SeasonModel(bkg[season.name], grid, weighting=weighting)
        m.season = season
        return m

    saved = engine.SeasonModel
    engine.SeasonModel = model
    try:
        return PointSourceAnalysis(full, RA, _fit_with_background_from.dec, threads=1,
                                   gamma_range=gamma_range).unblind()
    finally:
        engine.SeasonModel = saved


def part_contamination(args: argparse.Namespace) -> dict:
    """ns of files with exactly k signal events, background PDFs from the file vs from its background alone.

    The toy writer draws the background first, so the same seed without the source writes the same
    background events: fitting the file with background PDFs built from those isolates the effect of
    the signal events on the data-built background PDFs (signal contamination).
    """
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="ps_contam_"))
    _fit_with_background_from.dec = args.dec
    try:
        for k in args.k:
            for rep in range(args.reps):
                seed = 7_000_000 + 100_000 * int(args.dec * 10 % 1000) + 1000 * k + rep
                full, bkg = tmp / f"k{k}_r{rep}", tmp / f"b{k}_r{rep}"
                simulate_public_data(full, seasons=SEASONS, n_events=args.n_bkg, seed=seed,
                                     sources=[{"ra": RA, "dec": args.dec, "n": k, "gamma": GAMMA, "exact": True}])
                simulate_public_data(bkg, seasons=SEASONS, n_events=args.n_bkg, seed=seed)
                row: dict = {"k": k, "rep": rep, "seed": seed}
                for label, rng_g in (("fixed", (GAMMA, GAMMA)), ("free", (1.0, 4.0))):
                    a = PointSourceAnalysis(full, RA, args.dec, threads=1, gamma_range=rng_g).unblind()
                    b = _fit_with_background_from(full, bkg, rng_g)
                    row[label] = {"ns_data_pdf": a.ns, "ns_bkg_only_pdf": b.ns, "gamma_data_pdf": a.gamma,
                                  "gamma_bkg_only_pdf": b.gamma}
                rows.append(row)
                print(json.dumps(row), flush=True)
                shutil.rmtree(full)
                shutil.rmtree(bkg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict = {}
    for k in args.k:
        sel = [r for r in rows if r["k"] == k]
        summary[str(k)] = {f"{lab}_{pdf}": _stats([r[lab][f"ns_{pdf}"] for r in sel], k)
                           for lab in ("fixed", "free") for pdf in ("data_pdf", "bkg_only_pdf")}
        for lab in ("fixed", "free"):
            summary[str(k)][f"{lab}_difference"] = _stats([r[lab]["ns_data_pdf"] - r[lab]["ns_bkg_only_pdf"]
                                                           for r in sel], 0)
    return {"dec": args.dec, "n_bkg_per_season": args.n_bkg, "seasons": SEASONS, "gamma_injected": GAMMA,
            "reps": args.reps, "rows": rows, "summary": summary}


def _injected_from(models, box: bool, emax_rows, sets: list[dict[int, dict[str, np.ndarray]]]):
    """Kernel input (PsInjected) from per-trial signal events {season index: columns in degrees}."""
    from icecore import _core
    from icecore.ps.engine import EVENT_DTYPE, _column, kernel_columns

    cols, season, trial = [], [], []
    for t, ev in enumerate(sets):
        for j, e in ev.items():
            if len(e["dec_deg"]) == 0:
                continue
            cols.append(kernel_columns(models[j], None if box else emax_rows[j], e["ra_deg"], e["dec_deg"],
                                       e["log10_e"], e["angerr_deg"]))
            season.append(np.full(len(e["dec_deg"]), j, dtype=np.int32))
            trial.append(np.full(len(e["dec_deg"]), t, dtype=np.int64))
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    if cols:
        tr = np.concatenate(trial)
        order = np.argsort(tr, kind="stable")
        c = np.concatenate(cols)[order]
        seas = np.ascontiguousarray(np.concatenate(season)[order])
        np.cumsum(np.bincount(tr[order], minlength=len(sets)), out=offsets[1:])
    else:
        c, seas = np.empty(0, dtype=EVENT_DTYPE), np.zeros(0, dtype=np.int32)
    return _core.ps.PsInjected(season=seas, ra=_column(c, "ra"), sin_dec=_column(c, "sin_dec"),
                               cos_dec=_column(c, "cos_dec"), sigma=_column(c, "sigma"), inv_b=_column(c, "inv_b"),
                               efrac=_column(c, "efrac"), cos_r=_column(c, "cos_r"), ebin=_column(c, "ebin"),
                               offsets=offsets)


def part_sens_same_llh(args: argparse.Namespace) -> dict:
    """P(TS > background median) of one likelihood (icecore, SkyLLH-compatible) for three injectors.

    The injected events come from icecore's injector, SkyLLH's as released (true-energy inverse CDF
    with each bin's cumulative probability at the bin centre) and SkyLLH's with the knots at the
    bin upper edges; all are fitted by the same likelihood with RA-scrambled background, so any
    difference in P(TS > median) is the injectors'. Poisson mean k per trial.
    """
    from skyllh.analyses.i3.publicdata_ps import signal_generator as sg
    from skyllh.core.random import RandomStateService

    from icecore.ps.skyllh_ref import skyllh_analysis

    cls = next(c for c in vars(sg).values() if isinstance(c, type) and "_create_inv_cdf_spline" in vars(c))
    released = cls._create_inv_cdf_spline
    tmp = Path(tempfile.mkdtemp(prefix="ps_sens_llh_"))
    try:
        path = tmp / "bkg"
        simulate_public_data(path, seasons=SEASONS, n_events=args.n_bkg, seed=4245)
        ours = PointSourceAnalysis(path, RA, args.dec, threads=1, **COMPAT)
        eng = ours._eng
        bg = ours.trials(args.bg_trials, seed=9, progress=False).ts
        median = float(np.median(bg))
        gens = {}
        for name, fn in (("skyllh_released", released), ("skyllh_upper_edge", _upper_edge_inv_cdf)):
            cls._create_inv_cdf_spline = fn
            gens[name] = skyllh_analysis(str(path), SEASONS, RA, args.dec, construct_sig_generator=True)[0]
        cls._create_inv_cdf_spline = released
        out: dict = {"dec": args.dec, "n_bkg_per_season": args.n_bkg, "trials_per_point": args.trials,
                     "bg_trials": args.bg_trials, "bg_median_ts": median, "k": {}}
        rng = np.random.default_rng(21)
        for k in args.k:
            if k == 0:
                continue
            row: dict = {}
            tr = ours.trials(args.trials, seed=int(rng.integers(1 << 31)), ns_inject=float(k), gamma_inject=GAMMA,
                             progress=False, batch=args.trials)
            row["icecore"] = {"frac_above_median": float(np.mean(tr.ts > median)),
                              "n_injected_mean": float(tr.n_injected.mean()), "ns_mean": float(tr.ns.mean()),
                              "log10_e_mean": None}
            for name, ana in gens.items():
                rss = RandomStateService(seed=int(rng.integers(1 << 31)))
                sets, n_inj, le = [], [], []
                for _ in range(args.trials):
                    n, evs = ana.sig_generator.generate_signal_events(rss, float(k), poisson=True)
                    ev = {}
                    for j, v in evs.items():
                        if v is None:
                            continue
                        ev[int(j)] = {"ra_deg": np.degrees(np.asarray(v["ra"], dtype=float)),
                                      "dec_deg": np.degrees(np.asarray(v["dec"], dtype=float)),
                                      "log10_e": np.asarray(v["log_energy"], dtype=float),
                                      "angerr_deg": np.degrees(np.asarray(v["ang_err"], dtype=float))}
                        le.append(ev[int(j)]["log10_e"])
                    sets.append(ev)
                    n_inj.append(int(n))
                inj = _injected_from(eng.models, eng.box, eng._emax_rows, sets)
                seeds = rng.integers(0, np.iinfo(np.uint64).max, size=args.trials, dtype=np.uint64, endpoint=True)
                r = eng.trials(ours._ra_rad, ours._dec_rad, ours._cls, seeds, inj, 1)
                ts = np.asarray(r["ts"])
                row[name] = {"frac_above_median": float(np.mean(ts > median)), "n_injected_mean": float(np.mean(n_inj)),
                             "ns_mean": float(np.mean(r["ns"])),
                             "log10_e_mean": float(np.mean(np.concatenate(le))) if le else None}
            for v in row.values():
                f = v["frac_above_median"]
                v["frac_err"] = float(np.sqrt(f * (1 - f) / args.trials))
            out["k"][str(k)] = row
            print(json.dumps({k: row}), flush=True)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cell(v: dict) -> str:
    if "bias_rel" in v:
        return f"{v['mean']:.2f} ± {v['err']:.2f} ({100 * v['bias_rel']:+.0f} ± {100 * v['bias_rel_err']:.0f} %)"
    return f"{v['mean']:.2f} ± {v['err']:.2f}"


def part_report(args: argparse.Namespace) -> dict:
    parts = {Path(f).stem: json.loads(Path(f).read_text()) for f in args.inputs}
    lines = ["| δ, k written | tool | ns, γ = 2 fixed: mean ± err (bias) | ns, γ free: mean ± err (bias) "
             "| median γ (free) |", "|---|---|---|---|---|"]
    for d in parts.values():
        if "summary" not in d:
            continue
        for k, summ in d["summary"].items():
            for tool, v in summ.items():
                lines.append(f"| {d['dec']:+.1f}°, k = {k} ({d['reps']} files) | {tool} | {_cell(v['ns_fixed'])} "
                             f"| {_cell(v['ns_free'])} | {v['gamma_free_median']:.2f} |")
    md = "\n".join(lines) + "\n"
    if args.markdown:
        Path(args.markdown).write_text(md)
    print(md)
    return {"parts": parts, "markdown": md}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("bias", "injectors", "stops", "sens", "sens_same_llh", "sens_stops",
                                       "contamination", "report"),
                    required=True)
    ap.add_argument("--dec", type=float, default=5.7)
    ap.add_argument("--k", type=int, nargs="+", default=[0, 5, 10, 20, 30, 50])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--rep-start", type=int, default=0, help="bias: first repetition (seed offset)")
    ap.add_argument("--n-bkg", type=int, default=20_000)
    ap.add_argument("--no-skyllh", action="store_true")
    ap.add_argument("--fixed-sampler", action="store_true", help="sens: SkyLLH's sampler with upper-edge knots")
    ap.add_argument("--sets", type=int, default=500, help="injectors: sets of inject-k events per injector")
    ap.add_argument("--inject-k", type=int, default=20)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--bg-trials", type=int, default=5000, help="sens_same_llh: background trials for the median")
    ap.add_argument("--inputs", nargs="+", default=[], help="report: JSON files of the other parts")
    ap.add_argument("--markdown", default=None, help="report: markdown table output")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    t0 = time.perf_counter()
    parts = {"bias": part_bias, "injectors": part_injectors, "stops": part_stops, "sens": part_sens,
             "contamination": part_contamination, "sens_same_llh": part_sens_same_llh, "sens_stops": part_sens_stops,
             "report": part_report}
    res = parts[args.part](args)
    res["args"] = vars(args)
    res["seconds"] = time.perf_counter() - t0
    res["note"] = "simulation: toy detector of icecore.ps.toy, not IceCube data"
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
