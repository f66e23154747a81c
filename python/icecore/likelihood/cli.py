"""``icecore likelihood``: simulate a muon event, fit a track (flags and printing only)."""

from __future__ import annotations

import argparse
from typing import Any

from .._cli import azimuth_deg, check_input_file, emit, output_file

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("likelihood", help="Pandel track likelihood: simulate and fit muon events")
    sub = p.add_subparsers(dest="likelihood_command", metavar="COMMAND")

    sim = sub.add_parser("simulate", help="simulate a through-going muon and write the event JSON")
    sim.add_argument("--energy-tev", type=float, required=True, help="muon energy (TeV)")
    sim.add_argument("--zenith", type=_zenith, required=True, help="zenith (deg, IceCube convention), [0, 180]")
    sim.add_argument("--azimuth", type=azimuth_deg, required=True, help="azimuth (deg, IceCube convention), [0, 360)")
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument("--mjd", type=float, default=None, help="event time (MJD, UTC)")
    sim.add_argument("--mismatch", action="store_true", help="add ice/loss effects the likelihood does not model")
    sim.add_argument("--out", required=True, type=output_file, help="output event JSON")
    sim.set_defaults(func=_simulate)

    fit = sub.add_parser("fit", help="LineFit -> SPE -> MPE track fit of an event JSON")
    fit.add_argument("event", help="event JSON (icecore.event layout)")
    fit.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    fit.add_argument("--json", action="store_true", help="print the result as JSON")
    fit.set_defaults(func=_fit)


def _zenith(text: str) -> float:
    """Zenith angle in degrees, [0, 180]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a zenith angle in degrees, got {text!r}") from None
    if not 0.0 <= value <= 180.0:
        raise argparse.ArgumentTypeError(f"zenith must be in [0, 180] degrees, got {value:g}")
    return value


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import simulate_track

    ev = simulate_track(args.energy_tev, args.zenith, args.azimuth, seed=args.seed, mjd=args.mjd,
                        mismatch=args.mismatch)
    ev.save(args.out)
    print(f"wrote {args.out}: {ev.n_pulses} pulses, {ev.meta['truth']['n_hit_doms']} DOMs with muon light")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from .event import Event
    from .fit import fit_track

    ev = Event.load(check_input_file(args.event, "EVENT"))
    r = fit_track(ev, threads=args.threads)
    lines = [f"MPE track: zenith {r.zenith_deg:.3f} deg, azimuth {r.azimuth_deg:.3f} deg"]
    if r.ra_deg is not None:
        lines.append(f"           RA {r.ra_deg:.3f} deg, Dec {r.dec_deg:.3f} deg")
    lines.append(f"LineFit:   zenith {r.linefit.zenith_deg:.2f} deg, azimuth {r.linefit.azimuth_deg:.2f} deg")
    emit({"run_id": ev.run_id, "event_id": ev.event_id, **r.to_dict()}, lines, as_json=args.json)
    return 0
