"""``icecore lvk ...``: the LVK follow-up from the command line (thin layer over icecore.lvk)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._cli import emit

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``lvk`` command group to an argparse subparsers object."""
    p = subparsers.add_parser("lvk", help="LVK gravitational-wave follow-up (generic and Bayesian searches)")
    sub = p.add_subparsers(dest="lvk_command", required=True)
    f = sub.add_parser("followup", help="run the follow-up of one LVK alert or sky map")
    f.add_argument("alert", help="LVK alert (igwn.gwalert JSON or VOEvent) or a HEALPix FITS sky map")
    f.add_argument("--time", help="GW time (ISO UTC or MJD); needed with a bare sky map")
    f.add_argument("--superevent", default="S000000a", help="superevent id with a bare sky map")
    f.add_argument("--skymap", help="local sky map for a VOEvent (file, or folder holding its file)")
    f.add_argument("--events",
                   help="window events (CSV: time_mjd,ra_deg,dec_deg,sigma_deg,log10_e[,run_id,event_id])")
    f.add_argument("--simulate", type=int, metavar="N_SIGNAL", default=None,
                   help="instead of --events: simulate the window "
                        "(scrambled IC86-2011 + N_SIGNAL injected at the map maximum)")
    f.add_argument("--background", required=True,
                   help="folder of the IC86-2011 point-source release (background sample)")
    f.add_argument("--out", required=True, help="output folder")
    f.add_argument("--nside", type=int, default=256)
    f.add_argument("--trials", type=int, default=10_000)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--threads", type=int, default=0)
    f.add_argument("--no-plot", action="store_true")
    f.add_argument("--json", action="store_true", help="print the summary as JSON")
    f.set_defaults(func=_followup)


def _followup(args: argparse.Namespace) -> int:
    from . import api

    result, paths = api.followup_from_files(
        args.alert, background=args.background, out_dir=args.out, time=args.time, superevent=args.superevent,
        skymap=args.skymap, events=args.events, simulate=args.simulate, nside=args.nside, n_trials=args.trials,
        seed=args.seed, threads=args.threads, plot=not args.no_plot)
    summary = result.to_dict() if hasattr(result, "to_dict") else result.summary()
    lines = [f"{k}: {Path(v)}" for k, v in paths.items()]
    if summary.get("status") == "retracted":
        lines.insert(0, f"{summary['superevent_id']}: retracted, no search run")
    else:
        lines.insert(0, f"{summary['superevent_id']}: p_generic = {summary['generic']['pval']:.4g}, "
                        f"p_bayesian = {summary['bayesian']['pval']:.4g}")
    emit(summary, lines, as_json=args.json)
    return 0
