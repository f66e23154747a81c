"""``icecore radio``: simulate, clean and orient (a thin layer over :mod:`icecore.radio`)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from ..errors import InputError

__all__ = ["register"]

log = logging.getLogger(__name__)

_DATA_SUFFIXES = (".npz", ".h5", ".hdf5")


def register(subparsers: Any) -> None:
    radio = subparsers.add_parser("radio", help="radio antenna orientation from Galactic noise")
    sub = radio.add_subparsers(dest="radio_command", metavar="RADIO_COMMAND")

    sim = sub.add_parser("simulate", help="write simulated waveform files (one per calendar month) and truth.json")
    sim.add_argument("--out", required=True, help="output directory (created)")
    sim.add_argument("--start", default="2024-01-01", help="start time, ISO or MJD (default 2024-01-01)")
    sim.add_argument("--days", type=float, default=30.0, help="days to simulate (default 30)")
    sim.add_argument("--antennas", type=int, default=1, help="number of antennas, 2 channels each (default 1)")
    sim.add_argument("--arm", type=float, action="append", default=None, metavar="DEG",
                     help="polarisation-0 arm azimuth per antenna (repeat; default random)")
    sim.add_argument("--swapped", type=int, action="append", default=[], metavar="INDEX",
                     help="antenna index (0-based) with swapped cables (repeat)")
    sim.add_argument("--events-per-hour", type=float, default=10.0, help="event rate (default 10)")
    sim.add_argument("--msb-flip-rate", type=float, default=0.05, help="MSB flips per event and channel (default 0.05)")
    sim.add_argument("--spike-rate", type=float, default=0.02, help="other spikes per event and channel (default 0.02)")
    sim.add_argument("--format", choices=("npz", "h5"), default="npz", help="file format (default npz)")
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    sim.set_defaults(func=_simulate)

    cl = sub.add_parser("clean", help="clean and filter waveform files, write noise tables (RMS, spread)")
    cl.add_argument("data", nargs="+", help="waveform files or directories of them")
    cl.add_argument("--out", required=True, help="output directory for noise_<name>.npz")
    _processing_args(cl)
    cl.add_argument("--json", action="store_true", help="print the summary as JSON")
    cl.set_defaults(func=_clean)

    ori = sub.add_parser("orient", help="fit arm orientations from waveform files or noise tables")
    ori.add_argument("data", nargs="+", help="waveform files, noise tables, or directories of them")
    ori.add_argument("--gps", action="append", default=None, metavar="DEG|ANT=DEG",
                     help="GPS orientation of the polarisation-0 arm: one value for all antennas or ANT=DEG (repeat)")
    ori.add_argument("--gps-sigma", type=float, default=0.5, help="GPS uncertainty in degrees (default 0.5)")
    ori.add_argument("--cut", type=float, nargs=3, default=None, metavar=("RMS_MIN", "RMS_MAX", "SPREAD_MAX"),
                     help="explicit (RMS, spread) cut (default: chosen from the cleanest month)")
    ori.add_argument("--cut-k", type=float, default=5.0, help="automatic cut width in robust sigmas (default 5)")
    ori.add_argument("--plot", default=None, metavar="DIR", help="write PNG plots to DIR")
    ori.add_argument("--json", action="store_true", help="print the result as JSON")
    _processing_args(ori)
    ori.set_defaults(func=_orient)

    radio.set_defaults(func=lambda args: (radio.print_help(), 2)[1])


def _processing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--band", type=float, nargs=2, default=(150.0, 170.0), metavar=("LOW", "HIGH"),
                   help="band-pass in MHz (default 150 170)")
    p.add_argument("--isf-passes", type=int, choices=(0, 1, 2), default=1,
                   help="inverted spectrum filter passes (default 1)")
    p.add_argument("--forest", action="store_true", help="add the isolation-forest spike finder (scikit-learn)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")


def _files(items: list[str]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in _DATA_SUFFIXES and not f.name.startswith(".")))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or directory: {p}")
    if not out:
        raise InputError(f"argument 'data': no {'/'.join(_DATA_SUFFIXES)} files in {items}", "data")
    return out


def _simulate(args: argparse.Namespace) -> int:
    from .io import save
    from .simulate import simulate_months

    start: Any = args.start
    try:
        start = float(start)
    except ValueError:
        pass
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files, truth_arms, n_events, n_flips = [], None, 0, 0
    for data, truth in simulate_months(start, args.days, seed=args.seed, antennas=args.antennas,
                                       arm_azimuth_deg=args.arm, swapped=args.swapped,
                                       events_per_hour=args.events_per_hour, msb_flip_rate=args.msb_flip_rate,
                                       spike_rate=args.spike_rate):
        from .orientation import month_labels

        name = f"radio_{month_labels(data.times_mjd[:1])[0]}.{args.format}"
        files.append(str(save(data, out / name)))
        truth_arms = truth.arm_azimuth_deg
        n_events += data.n_events
        n_flips += len(truth.msb_flips)
    summary = {
        "files": files,
        "events": n_events,
        "msb_flips": n_flips,
        "channels": {f"A{a // 2 + 1}P{a % 2}": float(v) for a, v in enumerate(truth_arms)},
        "seed": args.seed,
    }
    atomic_write(out / "truth.json", json.dumps(summary, indent=2))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"icecore radio simulate: wrote {len(files)} file(s), {n_events} events, to {out}")
        for ch, arm in summary["channels"].items():
            print(f"  {ch}: true arm azimuth {arm:.3f} deg")
    return 0


def _process_kwargs(args: argparse.Namespace) -> dict:
    return dict(band_mhz=tuple(args.band), isf_passes=args.isf_passes, use_forest=args.forest, threads=args.threads)


def _load_table(path: Path, args: argparse.Namespace):
    from .io import NOISE_FORMAT, file_format, load, load_noise_table
    from .pipeline import process

    if file_format(path) == NOISE_FORMAT:
        return load_noise_table(path)
    return process(load(path), **_process_kwargs(args))  # a waveform file (load checks its format)


def _clean(args: argparse.Namespace) -> int:
    from .io import load, save_noise_table
    from .pipeline import process

    out = Path(args.out)
    summary = {}
    for f in _files(args.data):
        table = process(load(f), **_process_kwargs(args))
        dest = save_noise_table(table, out / f"noise_{f.stem}.npz")
        summary[str(f)] = {
            "noise_table": str(dest),
            "events": int(table.times_mjd.size),
            "rejected": {table.channel_label(c): int(table.rejected[c].sum()) for c in range(table.n_channels)},
            "msb_flips_undone": int(table.n_flipped.sum()),
            "replaced_by_neighbours": int(table.n_replaced.sum()),
            "copy_repaired_samples": int(table.n_copy_repaired.sum()),
        }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for f, s in summary.items():
            print(f"{f}: {s['events']} events -> {s['noise_table']}")
            print(f"  rejected (> 5 spikes): {s['rejected']}; MSB flips undone {s['msb_flips_undone']}, "
                  f"replaced {s['replaced_by_neighbours']}, copy-repaired samples {s['copy_repaired_samples']}")
    return 0


def _parse_gps(values: list[str] | None) -> Any:
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return float(values[0])
    out = {}
    for v in values:
        if "=" not in v:
            raise InputError(f"argument '--gps': mix of DEG and ANT=DEG forms: {v!r}", "gps")
        a, d = v.split("=", 1)
        out[int(a)] = float(d)
    return out


def _orient(args: argparse.Namespace) -> int:
    from .io import NoiseTable
    from .pipeline import orient

    gps = _parse_gps(args.gps)
    tables = [_load_table(f, args) for f in _files(args.data)]
    table = NoiseTable.concatenate(tables)
    result = orient(table, cut=tuple(args.cut) if args.cut else None, cut_k=args.cut_k, gps_deg=gps,
                    gps_sigma_deg=args.gps_sigma)
    out = result.to_dict()
    if args.plot:
        from .plots import plot_monthly_fits, plot_summary

        paths = plot_monthly_fits(table, result, args.plot)
        paths.append(plot_summary(result, Path(args.plot) / "orientation_summary.png", gps_deg=gps))
        out["plots"] = [str(p) for p in paths]
    if args.json:
        print(json.dumps(out, indent=2, default=_json_default))
        return 0
    cut = result.cut_report["cut"]
    print(f"cut: {cut['rms_min']:.4g} <= RMS <= {cut['rms_max']:.4g}, spread <= {cut['spread_max']:.4g} ({cut['source']})")
    for label, ch in result.cut_report["channels"].items():
        print(f"  {label}: cut removed {ch['removed']} of {ch['usable']} usable events; "
              f"rejected by cleaning {result.cut_report['rejected_by_cleaning'][label]}")
    for label in sorted(result.monthly):
        for m, f in sorted(result.monthly[label].items()):
            print(f"  {label} {m}: n={f.n:5d} arm {f.arm_deg:7.2f} ± {f.sigma_deg:.2f} deg "
                  f"(max at GC azimuth {f.phi_max_deg:.2f}, amplitude {f.significance:.1f} sigma)")
    for label, months in sorted(result.skipped.items()):
        for m, why in sorted(months.items()):
            print(f"  {label} {m}: not used ({why})")
    for label, y in sorted(result.yearly.items()):
        print(f"{label}: arm {y.arm_deg:.2f} ± {y.sigma_deg:.2f} deg (scaled {y.sigma_scaled_deg:.2f}), "
              f"chi2/ndof {y.chi2:.1f}/{y.ndof}, {y.n_months} months")
    for a, chk in sorted(result.antennas.items()):
        line = (f"antenna {a}: perpendicularity deviation {chk['perpendicular_deviation_deg']:+.2f} ± "
                f"{chk['perpendicular_sigma_deg']:.2f} deg ({'ok' if chk['perpendicular'] else 'NOT perpendicular'})")
        if "gps_deg" in chk:
            d0, d1 = chk["gps_difference_deg"]
            line += f"; vs GPS {chk['gps_deg']:.2f}: {d0:+.2f}, {d1:+.2f} deg"
            line += "; SWAPPED CABLES" if chk["swapped"] else ""
        print(line)
    for p in out.get("plots", []):
        print(f"plot: {p}")
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)
