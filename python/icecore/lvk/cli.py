"""``icecore lvk ...``: the LVK follow-up from the command line (thin layer over icecore.lvk)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._cli import dumps, emit, kafka_client_config

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

    q = sub.add_parser("listen", help="consume LVK alerts (igwn.gwalert) from GCN Kafka and run the follow-up of each "
                       "(credentials from GCN_CLIENT_ID / GCN_CLIENT_SECRET; extra 'kafka')")
    q.add_argument("--store", required=True, help="pipeline folder (alerts, products in lvk/, dead_letter/)")
    q.add_argument("--group-id", required=True, help="fixed consumer group id (keeps your place across restarts)")
    q.add_argument("--topic", action="append", default=None, help="topic (repeatable; default igwn.gwalert)")
    q.add_argument("--background", required=True,
                   help="folder of the IC86-2011 point-source release (background sample)")
    q.add_argument("--events",
                   help="neutrino events (CSV: time_mjd,ra_deg,dec_deg,sigma_deg,log10_e[,run_id,event_id])")
    q.add_argument("--simulate", type=int, metavar="N_SIGNAL", default=None,
                   help="instead of --events: simulate each window (demonstration; products describe simulated data)")
    q.add_argument("--skymap-dir", default=None, help="local folder of sky maps named by VOEvent URLs")
    q.add_argument("--nside", type=int, default=256)
    q.add_argument("--trials", type=int, default=10_000)
    q.add_argument("--single-trials", type=int, default=2_000)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=0)
    q.add_argument("--no-plot", action="store_true")
    q.add_argument("--skip-tests", action="store_true", help="store test superevents (M..., T...) but run no search")
    q.add_argument("--domain", default=None, help="GCN domain (default gcn.nasa.gov)")
    q.add_argument("--bootstrap-servers", default=None, help="use this broker instead of GCN (no OAuth)")
    q.add_argument("-X", dest="kafka_config", action="append", default=[], metavar="KEY=VALUE",
                   help="extra confluent-kafka setting (repeatable)")
    q.add_argument("--idle-timeout", type=float, default=None, help="stop after this many idle seconds")
    q.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    q.add_argument("--broker-timeout", type=float, default=60.0,
                   help="give up (exit status 2) after this many seconds of broker errors (default 60)")
    q.add_argument("--json", action="store_true", help="print the summary as JSON")
    q.set_defaults(func=_listen)


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


def _listen(args: argparse.Namespace) -> int:

    from .pipeline import LVK_TOPICS, LvkPipelineConfig, listen

    cfg = kafka_client_config(args.bootstrap_servers, args.kafka_config)
    config = LvkPipelineConfig(sample=args.background, events=args.events, simulate_signal=args.simulate,
                               nside=args.nside, trials=args.trials, single_trials=args.single_trials, seed=args.seed,
                               threads=args.threads, plot=not args.no_plot, skip_tests=args.skip_tests,
                               skymap_dir=args.skymap_dir)
    stats = listen(args.store, config, tuple(args.topic) if args.topic else LVK_TOPICS, group_id=args.group_id,
                   config=cfg, domain=args.domain, idle_timeout=args.idle_timeout, max_messages=args.max_messages,
                   broker_timeout=args.broker_timeout)
    d = {k: v for k, v in vars(stats).items() if k != "paths"}
    print(dumps(d, indent=None) if args.json else "  ".join(f"{k}={v}" for k, v in d.items()))  # one line
    return 0
