"""``icecore radio``: simulate, clean and orient (flags and printing only; the work is done by
:mod:`icecore.radio.dataset`, :mod:`icecore.radio.pipeline` and :mod:`icecore.radio.plots`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._cli import azimuth_deg, emit, output_dir, parse_key_values, parse_list, require_plotting

#: Library argument -> flag of the radio commands (merged into icecore._cli.FLAG_NAMES by icecore.cli.main).
_FLAG_NAMES = {"paths": "DATA", "path": "DATA", "days": "--days", "start": "--start", "antennas": "--antennas",
               "swapped": "--swapped", "events_per_hour": "--events-per-hour", "msb_flip_rate": "--msb-flip-rate",
               "spike_rate": "--spike-rate", "file_format": "--format", "isf_passes": "--isf-passes",
               "use_forest": "--forest", "outdir": "--out"}

__all__ = ["register"]


def register(subparsers: Any) -> None:
    radio = subparsers.add_parser("radio", help="radio antenna orientation from Galactic noise")
    sub = radio.add_subparsers(dest="radio_command", metavar="RADIO_COMMAND")

    sim = sub.add_parser("simulate", help="write simulated waveform files (one per calendar month) and truth.json")
    sim.add_argument("--out", required=True, type=output_dir, help="output directory (created)")
    sim.add_argument("--start", default="2024-01-01", help="start time, ISO or MJD (default 2024-01-01)")
    sim.add_argument("--days", type=float, default=30.0, help="days to simulate (default 30)")
    sim.add_argument("--antennas", type=int, default=1, help="number of antennas, 2 channels each (default 1)")
    sim.add_argument("--arm", type=azimuth_deg, action="append", default=None, metavar="DEG",
                     help="polarisation-0 arm azimuth per antenna in degrees, [0, 360) (repeat; default random)")
    sim.add_argument("--swapped", type=int, action="append", default=[], metavar="INDEX",
                     help="antenna index (0-based) with swapped cables (repeat)")
    sim.add_argument("--events-per-hour", type=float, default=10.0, help="event rate (default 10)")
    sim.add_argument("--msb-flip-rate", type=float, default=0.05, help="MSB flips per event and channel (default 0.05)")
    sim.add_argument("--spike-rate", type=float, default=0.02, help="other spikes per event and channel (default 0.02)")
    sim.add_argument("--format", choices=("npz", "h5"), default="npz", help="file format (default npz)")
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    sim.set_defaults(func=_simulate, flag_names=_FLAG_NAMES)

    cl = sub.add_parser("clean", help="clean and filter waveform files, write noise tables (RMS, spread)")
    cl.add_argument("data", nargs="+", help="waveform files or directories of them")
    cl.add_argument("--out", required=True, type=output_dir, help="output directory for noise_<name>.npz")
    _processing_args(cl)
    cl.add_argument("--json", action="store_true", help="print the summary as JSON")
    cl.set_defaults(func=_clean, flag_names=_FLAG_NAMES)

    ori = sub.add_parser("orient", help="fit arm orientations from waveform files or noise tables")
    ori.add_argument("data", nargs="+", help="waveform files, noise tables, or directories of them")
    ori.add_argument("--gps", action="append", default=None, metavar="DEG|ANT=DEG",
                     help="GPS orientation of the polarisation-0 arm: one value for all antennas or ANT=DEG (repeat)")
    ori.add_argument("--gps-sigma", type=float, default=0.5, help="GPS uncertainty in degrees (default 0.5)")
    ori.add_argument("--cut", type=float, nargs=3, default=None, metavar=("RMS_MIN", "RMS_MAX", "SPREAD_MAX"),
                     help="explicit (RMS, spread) cut (default: chosen from the cleanest month)")
    ori.add_argument("--cut-k", type=float, default=5.0, help="automatic cut width in robust sigmas (default 5)")
    ori.add_argument("--plot", default=None, metavar="DIR", type=output_dir, help="write PNG plots to DIR (created)")
    ori.add_argument("--json", action="store_true", help="print the result as JSON")
    _processing_args(ori)
    ori.set_defaults(func=_orient, flag_names=_FLAG_NAMES)

    radio.set_defaults(func=lambda args: (radio.print_help(), 2)[1])


def _processing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--band", type=float, nargs=2, default=(150.0, 170.0), metavar=("LOW", "HIGH"),
                   help="band-pass in MHz (default 150 170)")
    p.add_argument("--isf-passes", type=int, choices=(0, 1, 2), default=1,
                   help="inverted spectrum filter passes (default 1)")
    p.add_argument("--forest", action="store_true", help="add the isolation-forest spike finder (scikit-learn)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")


def _process_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return dict(band_mhz=tuple(args.band), isf_passes=args.isf_passes, use_forest=args.forest, threads=args.threads)


def _start(text: str) -> Any:
    """``--start``: an MJD number or an ISO time string."""
    try:
        return float(text)
    except ValueError:
        return text


def _simulate(args: argparse.Namespace) -> int:
    from .dataset import simulate_dataset

    ds = simulate_dataset(args.out, _start(args.start), args.days, file_format=args.format, seed=args.seed,
                          antennas=args.antennas, arm_azimuth_deg=args.arm, swapped=args.swapped,
                          events_per_hour=args.events_per_hour, msb_flip_rate=args.msb_flip_rate,
                          spike_rate=args.spike_rate)
    lines = [f"icecore radio simulate: wrote {len(ds.files)} file(s), {ds.events} events, to {Path(args.out)}"]
    lines += [f"  {ch}: true arm azimuth {arm:.3f} deg" for ch, arm in ds.channels.items()]
    emit(ds.to_dict(), lines, as_json=args.json)
    return 0


def _clean(args: argparse.Namespace) -> int:
    from .dataset import clean_files

    done = clean_files(args.data, args.out, **_process_kwargs(args))
    lines = []
    for c in done:
        lines.append(f"{c.source}: {c.events} events -> {c.noise_table}")
        lines.append(f"  rejected (> 5 spikes): {c.rejected}; MSB flips undone {c.msb_flips_undone}, "
                     f"replaced {c.replaced_by_neighbours}, copy-repaired samples {c.copy_repaired_samples}")
    emit({str(c.source): c.to_dict() for c in done}, lines, as_json=args.json)
    return 0


def _gps(values: list[str] | None) -> float | dict[int, float] | None:
    """``--gps DEG`` (all antennas) or repeated ``--gps ANT=DEG``."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        degs = parse_list(values[0], azimuth_deg, flag="--gps")
        if len(degs) != 1:
            raise ValueError(f"--gps: expected one DEG or repeated ANT=DEG, got {values[0]!r}")
        return degs[0]
    by_antenna = parse_key_values(values, azimuth_deg, flag="--gps")
    try:
        return {int(a): d for a, d in by_antenna.items()}
    except ValueError:
        raise ValueError(f"--gps: expected ANT=DEG with an integer antenna index (0, 1, ...), got "
                         f"{', '.join(sorted(by_antenna))}") from None


def _orient_lines(result: Any, plots: list[Any]) -> Iterator[str]:
    cut = result.cut_report["cut"]
    yield (f"cut: {cut['rms_min']:.4g} <= RMS <= {cut['rms_max']:.4g}, spread <= {cut['spread_max']:.4g} "
           f"({cut['source']})")
    for label, ch in result.cut_report["channels"].items():
        yield (f"  {label}: cut removed {ch['removed']} of {ch['usable']} usable events; "
               f"rejected by cleaning {result.cut_report['rejected_by_cleaning'][label]}")
    for label in sorted(result.monthly):
        for m, f in sorted(result.monthly[label].items()):
            yield (f"  {label} {m}: n={f.n:5d} arm {f.arm_deg:7.2f} ± {f.sigma_deg:.2f} deg "
                   f"(max at GC azimuth {f.phi_max_deg:.2f}, amplitude {f.significance:.1f} sigma)")
    for label, months in sorted(result.skipped.items()):
        for m, why in sorted(months.items()):
            yield f"  {label} {m}: not used ({why})"
    for label, y in sorted(result.yearly.items()):
        yield (f"{label}: arm {y.arm_deg:.2f} ± {y.sigma_deg:.2f} deg (scaled {y.sigma_scaled_deg:.2f}), "
               f"chi2/ndof {y.chi2:.1f}/{y.ndof}, {y.n_months} months")
    for a, chk in sorted(result.antennas.items()):
        line = (f"antenna {a}: perpendicularity deviation {chk['perpendicular_deviation_deg']:+.2f} ± "
                f"{chk['perpendicular_sigma_deg']:.2f} deg ({'ok' if chk['perpendicular'] else 'NOT perpendicular'})")
        if "gps_deg" in chk:
            d0, d1 = chk["gps_difference_deg"]
            line += f"; vs GPS {chk['gps_deg']:.2f}: {d0:+.2f}, {d1:+.2f} deg"
            line += "; SWAPPED CABLES" if chk["swapped"] else ""
        yield line
    for p in plots:
        yield f"plot: {p}"


def _orient(args: argparse.Namespace) -> int:
    from .dataset import load_noise_tables
    from .pipeline import orient

    gps = _gps(args.gps)
    if args.plot:
        require_plotting("--plot")
    table = load_noise_tables(args.data, **_process_kwargs(args))
    result = orient(table, cut=tuple(args.cut) if args.cut else None, cut_k=args.cut_k, gps_deg=gps,
                    gps_sigma_deg=args.gps_sigma)
    out = result.to_dict()
    plots: list[Any] = []
    if args.plot:
        from .plots import plot_orientation

        try:
            plots = plot_orientation(table, result, args.plot, gps_deg=gps)
            out["plots"] = [str(p) for p in plots]
        except (OSError, ValueError) as exc:  # never lose the computed result for a plot
            out["plot_error"] = str(exc)
    emit(out, _orient_lines(result, plots), as_json=args.json)
    return 0
