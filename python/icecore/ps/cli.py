"""``icecore ps``: simulate release-format data, fit a source, run trials, sensitivity, sky scan.

Flags are parsed here and handed to the library (:mod:`icecore.ps`); results are printed as text
or, with ``--json``, through :func:`icecore._cli.emit`.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .._cli import (
    check_input_dir,
    dec_deg,
    emit,
    input_file,
    output_dir,
    output_file,
    parse_list,
    ra_deg,
    require_plotting,
    suffixes,
)
from .._io import read_npz

__all__ = ["register"]


def _source(text: str) -> dict[str, float]:
    """``RA,DEC,N[,GAMMA]`` -> {"ra", "dec", "n"[, "gamma"]} (argparse type)."""
    try:
        vals = parse_list(text, float, flag="--source")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(vals) not in (3, 4):
        raise argparse.ArgumentTypeError("expected RA,DEC,N[,GAMMA] (degrees, mean events, index)")
    out = {"ra": vals[0], "dec": vals[1], "n": vals[2]}
    if len(vals) == 4:
        out["gamma"] = vals[3]
    return out


def _seasons(values: list[str] | None) -> list[str] | None:
    """``--seasons A B`` or ``--seasons A,B`` -> [A, B]."""
    if values is None:
        return None
    return [name for v in values for name in parse_list(v, str, flag="--seasons")]


def _add_data(p: argparse.ArgumentParser, *, position: bool = True) -> None:
    p.add_argument("--data", required=True, help="release folder holding events/, uptime/ and irfs/")
    p.add_argument("--seasons", nargs="+", default=None, help="seasons to use (default: all found)")
    if position:
        p.add_argument("--ra", type=ra_deg, required=True, help="source right ascension [deg], [0, 360)")
        p.add_argument("--dec", type=dec_deg, required=True, help="source declination [deg], [-90, 90]")
    p.add_argument("--selection", choices=("band", "box"), default="band",
                   help="event selection: band (default) or SkyLLH's RA box")
    p.add_argument("--energy-weighting", choices=("exact", "skyllh"), default="exact",
                   help="true-energy weighting of the signal energy PDF")
    p.add_argument("--energy-smoothing", choices=("sparse", "all"), default=None,
                   help="bins of the background energy histogram to smooth: sparse (< 100 events; default) or all "
                        "(SkyLLH; the default with --energy-weighting skyllh)")
    p.add_argument("--gamma-range", type=float, nargs=2, default=(1.0, 4.0), metavar=("LOW", "HIGH"),
                   help="spectral index range of the fit")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    p.set_defaults(flag_names=_FLAG_NAMES)


#: Library argument -> flag of these commands (merged into icecore._cli.FLAG_NAMES by icecore.cli.main).
_FLAG_NAMES = {"path": "--data", "n": "--n", "ns_inject": "--ns-inject", "gamma_inject": "--gamma-inject",
               "gamma": "--gamma", "e0": "--e0", "sigma": "--sigma", "n_trials": "--n-trials", "nside": "--nside",
               "release": "--release", "sources": "--source"}


def register(sub: argparse._SubParsersAction) -> None:
    ps = sub.add_parser("ps", help="point-source likelihood on IceCube public track data")
    cmds = ps.add_subparsers(dest="ps_command", metavar="COMMAND")

    p = cmds.add_parser("simulate", help="write synthetic data in the public-release layout (toy detector)")
    p.add_argument("--out", required=True, type=output_dir, help="folder to create")
    p.add_argument("--seasons", nargs="+", default=["IC79", "IC86_I", "IC86_II"], help="seasons to simulate")
    p.add_argument("--n-events", type=int, default=50_000, help="background events per season")
    p.add_argument("--source", type=_source, action="append", default=[], metavar="RA,DEC,N[,GAMMA]",
                   help="inject a point source (repeatable)")
    p.add_argument("--release", choices=("10y", "14y"), default="10y", help="public-release layout")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--overwrite", action="store_true", help="replace data already in --out")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_simulate, flag_names=_FLAG_NAMES)

    p = cmds.add_parser("fit", help="unblind: fit ns and gamma at a position")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_fit)

    p = cmds.add_parser("trials", help="background or signal trials (RA scrambling, injection from the IRFs)")
    _add_data(p)
    p.add_argument("--n", type=int, required=True, help="number of trials")
    p.add_argument("--out", required=True, type=suffixes(".npz", ".json"), help="output file (.npz, or .json)")
    p.add_argument("--ns-inject", type=float, default=0.0, help="mean injected signal events (0: background)")
    p.add_argument("--gamma-inject", type=float, default=2.0, help="spectral index of the injected signal")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_trials)

    p = cmds.add_parser("sensitivity", help="sensitivity and 5 sigma discovery potential, with a plot")
    _add_data(p)
    p.add_argument("--background", default=None, type=input_file, metavar="TRIALS.npz",
                   help="background trials from 'icecore ps trials' (.npz or .json) instead of new ones")
    p.add_argument("--n-background", type=int, default=5000, help="background trials (without --background)")
    p.add_argument("--n-trials", type=int, default=300, help="signal trials per tested ns")
    p.add_argument("--gamma", type=float, default=2.0, help="injected spectral index")
    p.add_argument("--e0", type=float, default=1000.0, help="flux reference energy [GeV]")
    p.add_argument("--sigma", type=float, default=5.0, help="discovery threshold [sigma]")
    p.add_argument("--no-discovery", action="store_true", help="skip the discovery potential")
    p.add_argument("--plot", default=None, type=output_file,
                   help="PNG of the background TS distribution and its tail fit")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_sensitivity)

    p = cmds.add_parser("scan", help="TS at every HEALPix pixel (RING, equatorial)")
    _add_data(p, position=False)
    p.add_argument("--nside", type=int, default=64, help="HEALPix nside of the TS map")
    p.add_argument("--out", required=True, type=suffixes(".npz"), help="output .npz (ts, ns, gamma, status, ra, dec)")
    p.add_argument("--plot", default=None, type=output_file,
                   help="PNG (and PDF beside it) of the TS sky map, hottest spot marked")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_scan)

    ps.set_defaults(func=lambda a: (ps.print_help(), 2)[1])


def _analysis(args: argparse.Namespace) -> Any:
    from .analysis import PointSourceAnalysis
    from .io import load_public_data

    data = load_public_data(check_input_dir(args.data, "--data"), _seasons(args.seasons))
    return PointSourceAnalysis(data, args.ra, args.dec, gamma_range=tuple(args.gamma_range), threads=args.threads,
                               selection=args.selection, energy_weighting=args.energy_weighting,
                               energy_smoothing=args.energy_smoothing)


def _simulate(args: argparse.Namespace) -> int:
    from .toy import simulate_public_data

    seasons = _seasons(args.seasons) or []
    out = simulate_public_data(args.out, seasons=seasons, n_events=args.n_events, sources=args.source,
                               release=args.release, seed=args.seed, overwrite=args.overwrite)
    emit({"out": str(out), "seasons": seasons, "n_events": args.n_events, "sources": args.source},
         [f"wrote {len(seasons)} seasons ({args.release} layout) to {out}"], as_json=args.json)
    return 0


def _fit(args: argparse.Namespace) -> int:
    ana = _analysis(args)
    r = ana.unblind()
    payload = {"ra": ana.ra, "dec": ana.dec, "seasons": ana.season_names, **r.to_dict(),
               "flux_e0_1TeV": ana.mu2flux(r.ns, r.gamma) if r.ns > 0 else 0.0}
    lines = [f"point source at RA {ana.ra:.3f} deg, Dec {ana.dec:.3f} deg ({', '.join(ana.season_names)})",
             f"  TS    = {r.ts:.3f}", f"  ns    = {r.ns:.2f}", f"  gamma = {r.gamma:.3f}",
             f"  status: {r.status} ({r.n_selected} events in the fit)"]
    emit(payload, lines, as_json=args.json)
    return 0 if r.ok else 1


def _refuse_existing(path: str, overwrite: bool) -> None:
    from pathlib import Path

    if Path(path).exists() and not overwrite:
        raise ValueError(f"--out: {path} exists; pass --overwrite to replace it")


def _trials(args: argparse.Namespace) -> int:
    _refuse_existing(args.out, args.overwrite)
    ana = _analysis(args)
    t = ana.trials(args.n, seed=args.seed, ns_inject=args.ns_inject, gamma_inject=args.gamma_inject)
    out = t.write(args.out)
    summary = {"n": len(t), "out": str(out), "median_ts": float(np.median(t.ts)),
               "frac_zero": float(np.mean(t.ts == 0)), "median_ns": float(np.median(t.ns)),
               "ns_inject": args.ns_inject}
    emit(summary, [f"{len(t)} trials -> {out}", f"  median TS {summary['median_ts']:.3f}, "
                   f"TS = 0 in {100 * summary['frac_zero']:.1f} %, median ns {summary['median_ns']:.2f}"],
         as_json=args.json)
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from .._validation import rng_from_seed
    from ..errors import FitError

    if args.plot:
        require_plotting("--plot")
    ana = _analysis(args)
    rng = rng_from_seed(args.seed)
    if args.background:
        bg = _read_background(args.background)
    else:
        bg = ana.background(args.n_background, seed=rng, threads=args.threads)
    sens = ana.sensitivity(bg, gamma=args.gamma, e0=args.e0, n_trials=args.n_trials, seed=rng, threads=args.threads)
    payload: dict[str, Any] = {"ra": ana.ra, "dec": ana.dec, "n_background": bg.n, "background_median": bg.median(),
                               "sensitivity": sens.to_dict()}
    lines = [f"RA {ana.ra:.3f} deg, Dec {ana.dec:.3f} deg, E^-{args.gamma:g}, E0 = {args.e0:g} GeV",
             f"  background: {bg.n} trials, median TS {bg.median():.3f}",
             f"  sensitivity (90 % above median): ns = {sens.ns:.2f}, "
             f"phi0 = {sens.flux:.3e} GeV^-1 cm^-2 s^-1"]
    thresholds = {"median": bg.median()}
    if not args.no_discovery:
        disc = ana.discovery_potential(bg, sigma=args.sigma, gamma=args.gamma, e0=args.e0, n_trials=args.n_trials,
                                       seed=rng, threads=args.threads)
        payload["discovery_potential"] = disc.to_dict()
        payload["discovery_sigma"] = args.sigma
        thresholds[f"{args.sigma:g} sigma"] = disc.ts_threshold
        lines.append(f"  {args.sigma:g} sigma discovery potential (50 % above TS {disc.ts_threshold:.2f}): "
                     f"ns = {disc.ns:.2f}, phi0 = {disc.flux:.3e} GeV^-1 cm^-2 s^-1")
    try:
        payload["tail_fit"] = bg.fit_tail()
    except FitError as exc:
        payload["tail_fit"] = {"error": str(exc)}
    if args.background:
        payload["background_file"] = args.background
        lines.insert(1, f"  background trials read from {args.background}")
    if args.plot:
        from .plots import plot_background

        try:
            plot_background(bg, args.plot, thresholds=thresholds,
                            title=f"background TS at RA {ana.ra:.1f}, Dec {ana.dec:.1f}")
            payload["plot"] = args.plot
            lines.append(f"  plot: {args.plot}")
        except (OSError, ValueError) as exc:  # never lose the computed result for a plot
            payload["plot_error"] = str(exc)
            lines.append(f"  plot not written: {exc}")
    emit(payload, lines, as_json=args.json)
    return 0


def _read_background(path: str) -> Any:
    """A BackgroundTS from the ``.npz``/``.json`` trials written by ``icecore ps trials``."""
    import json
    from pathlib import Path

    from ..stats import BackgroundTS

    try:
        if Path(path).suffix.lower() == ".json":
            arrays = {k: np.asarray(v) for k, v in json.loads(Path(path).read_text()).items()}
        else:
            arrays = read_npz(path, what="trials file")
    except (OSError, ValueError) as exc:
        raise ValueError(f"--background: cannot read {path} ({exc})") from None
    if "ts" not in arrays:
        raise ValueError(f"--background: {path} has no 'ts' array (write it with 'icecore ps trials')")
    if "n_injected" in arrays and np.any(np.asarray(arrays["n_injected"]) > 0):
        raise ValueError(f"--background: {path} holds signal trials (--ns-inject > 0), not background")
    return BackgroundTS().add(np.asarray(arrays["ts"], dtype=float))


def _scan(args: argparse.Namespace) -> int:
    from .analysis import sky_scan
    from .io import load_public_data

    if args.plot:
        require_plotting("--plot")
    sky = sky_scan(load_public_data(check_input_dir(args.data, "--data"), _seasons(args.seasons)), nside=args.nside,
                   gamma_range=tuple(args.gamma_range), threads=args.threads, selection=args.selection,
                   energy_weighting=args.energy_weighting, energy_smoothing=args.energy_smoothing)
    sky.to_npz(args.out)
    hot = sky.hottest()
    summary = {"nside": args.nside, "out": args.out, "seconds": sky.seconds, "max_ts": float(sky.ts[hot]),
               "max_ra": float(sky.ra[hot]), "max_dec": float(sky.dec[hot])}
    lines = [f"scanned {len(sky)} pixels in {summary['seconds']:.1f} s -> {args.out}",
             f"  hottest: TS {summary['max_ts']:.2f} at RA {summary['max_ra']:.2f}, Dec {summary['max_dec']:.2f}"]
    if args.plot:
        from ..scan.plot import plot_healpix_map

        seasons = ", ".join(_seasons(args.seasons) or ["all seasons"])
        try:
            files = plot_healpix_map(sky.ts, args.plot, nest=False, hottest=(summary["max_ra"], summary["max_dec"]),
                                     title=f"point-source TS map (nside {args.nside}, {seasons})",
                                     label="test statistic TS")
            summary["plots"] = [str(f) for f in files]
            lines += [f"  plot: {f}" for f in files]
        except (OSError, ValueError) as exc:  # never lose the computed result for a plot
            summary["plot_error"] = str(exc)
            lines.append(f"  plot not written: {exc}")
    emit(summary, lines, as_json=args.json)
    return 0
