"""``icecore alerts parse|listen|replay|list``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._cli import dumps, emit, kafka_client_config
from ..errors import InputError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="parse, store, listen to and replay IceCube GCN alerts")
    asub = p.add_subparsers(dest="alerts_command", metavar="ALERTS_COMMAND")

    pp = asub.add_parser("parse", help="parse notice files (Kafka JSON, VOEvent, classic text/binary)")
    pp.add_argument("files", nargs="+", help="notice files")
    pp.add_argument("--topic", default=None, help="Kafka topic the messages came from")
    pp.add_argument("--strict", action="store_true", help="fail on self-inconsistent notices")
    pp.add_argument("--n-trials", type=float, default=1.0,
                    help="trials factor for the significance (default 1)")
    pp.add_argument("--store", default=None, help="also store the alerts in this directory")
    pp.add_argument("--json", action="store_true", help="print JSON records")
    pp.set_defaults(func=_parse)

    def kafka_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--store", required=True, help="alert store directory")
        q.add_argument("--topic", action="append", default=None,
                       help="topic (repeatable; default the IceCube JSON topics)")
        q.add_argument("--domain", default=None, help="GCN domain (default gcn.nasa.gov)")
        q.add_argument("--bootstrap-servers", default=None, help="use this broker instead of GCN (no OAuth)")
        q.add_argument("-X", dest="kafka_config", action="append", default=[], metavar="KEY=VALUE",
                       help="extra confluent-kafka setting (repeatable), e.g. -X session.timeout.ms=10000")
        q.add_argument("--n-trials", type=float, default=1.0, help="trials factor (default 1)")
        q.add_argument("--json", action="store_true", help="print the summary as JSON")

    pl = asub.add_parser("listen", help="consume GCN Kafka notices into a store until SIGINT/SIGTERM "
                         "(credentials from GCN_CLIENT_ID / GCN_CLIENT_SECRET)")
    kafka_args(pl)
    pl.add_argument("--group-id", required=True, help="fixed consumer group id (keeps your place across restarts)")
    pl.add_argument("--idle-timeout", type=float, default=None, help="stop after this many idle seconds")
    pl.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    pl.add_argument("--broker-timeout", type=float, default=60.0,
                    help="give up (exit status 2) after this many seconds of broker/authentication errors "
                         "without recovery (default 60)")
    pl.set_defaults(func=_listen)

    pr = asub.add_parser("replay", help="store every notice published in a time window")
    pr.add_argument("start", help="window start (ISO UTC)")
    pr.add_argument("end", help="window end (ISO UTC, exclusive)")
    kafka_args(pr)
    pr.add_argument("--timeout", type=float, default=60.0, help="seconds allowed (default 60)")
    pr.set_defaults(func=_replay)

    ps = asub.add_parser("list", help="list stored alerts")
    ps.add_argument("directory", help="alert store directory")
    ps.add_argument("--kind", default=None, help="only this kind (gold, bronze, cascade, ...)")
    ps.add_argument("--name", default=None, help="substring of the event name")
    ps.add_argument("--start", default=None, help="trigger time from (ISO UTC)")
    ps.add_argument("--end", default=None, help="trigger time to (ISO UTC)")
    ps.add_argument("--no-tests", action="store_true", help="hide test alerts")
    ps.add_argument("--json", action="store_true", help="print JSON rows")
    ps.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _fmt(x: Any, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _sigma(x: Any) -> str:
    return x if isinstance(x, str) else f"{x:.2f}"


def _summary(rec: dict[str, Any]) -> str:
    name = rec.get("event_name") or rec["event_key"]
    lines = [
        f"{name}  [{rec['kind']}, {rec['alert_type']}, rev {rec['revision']}{', TEST' if rec['test'] else ''}]"
        f"  ({rec['source_format']})",
        f"  time {rec['time']}   RA {_fmt(rec['ra_deg'], '.4f')}  Dec {_fmt(rec['dec_deg'], '+.4f')} deg"
        f"   err90 {_fmt(rec['error90_deg'], '.3f')} deg  err50 {_fmt(rec['error50_deg'], '.3f')} deg",
        f"  energy {_fmt(rec['energy_tev'], '.4g')} TeV   signalness {_fmt(rec['signalness'], '.4g')}"
        f"   FAR {_fmt(rec['far_per_year'], '.4g')} /yr",
    ]
    if rec["kind"] == "lvk_nu_track_search":
        lines.append(f"  GW {rec['gw_superevent_id']}  pval_generic {_fmt(rec['pval_generic'], '.4g')}"
                     f"  pval_bayesian {_fmt(rec['pval_bayesian'], '.4g')}  {len(rec['coincident_events'])} coincident")
    sig = rec.get("significance")
    if sig:
        lines.append(f"  significance ({sig['route']}): p {sig['p_pre']:.3g} -> post-trial {sig['p_post']:.3g}"
                     f" = {_sigma(sig['sigma_post'])} sigma ({sig['evidence']}, N = {sig['n_trials']:g})")
    for w in rec.get("warnings", []):
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def _parse(args: argparse.Namespace) -> int:
    from ..errors import ParseError
    from . import AlertStore, parse, process

    store = AlertStore(args.store) if args.store else None
    out, status = [], 0
    for f in args.files:
        data = Path(f).read_bytes()
        try:
            alert = parse(data, topic=args.topic, strict=args.strict)
        except ParseError as exc:
            status = 2
            if store is not None:
                store.dead_letter(data, str(exc), topic=args.topic, meta={"file": f})
            out.append({"file": f, "error": str(exc)})
            continue
        out.append({"file": f, **process(alert, n_trials=args.n_trials, store=store).record})
    lines = [f"{r['file']}: ERROR {r['error']}" if "error" in r else f"{r['file']}:\n{_summary(r)}" for r in out]
    emit(out if len(out) > 1 else out[0], lines, as_json=args.json)
    return status


def _kafka_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from .kafka import DEFAULT_TOPICS

    cfg = kafka_client_config(args.bootstrap_servers, args.kafka_config)
    return {"config": cfg, "domain": args.domain, "n_trials": args.n_trials,
            "topics": tuple(args.topic) if args.topic else DEFAULT_TOPICS}


def _print_stats(stats: Any, as_json: bool) -> None:
    d = {k: v for k, v in vars(stats).items() if k != "paths"}
    print(dumps(d, indent=None) if as_json else "  ".join(f"{k}={v}" for k, v in d.items()))  # one line


def _listen(args: argparse.Namespace) -> int:
    from .kafka import listen

    kw = _kafka_kwargs(args)
    stats = listen(args.store, kw.pop("topics"), group_id=args.group_id, idle_timeout=args.idle_timeout,
                   max_messages=args.max_messages, broker_timeout=args.broker_timeout, **kw)
    _print_stats(stats, args.json)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from .kafka import replay

    kw = _kafka_kwargs(args)
    stats = replay(args.start, args.end, kw.pop("topics"), store=args.store, timeout=args.timeout, **kw)
    _print_stats(stats, args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    from . import AlertStore

    folder = Path(args.directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"no alert store at {args.directory}")
    if not (folder / "records").is_dir():
        raise InputError(f"{args.directory} is not an alert store (no records/ folder); listing never creates one",
                         "directory")
    # listing never writes: without an index (or a writable folder) it is built in memory
    # (an existing index is opened as the store decides: read-only when the folder cannot be written)
    read_only = None if (folder / "index.sqlite").is_file() else True
    rows = AlertStore(folder, read_only=read_only).list(kind=args.kind, name=args.name, start=args.start, end=args.end,
                                           include_tests=not args.no_tests)
    emit(rows, [_row(r) for r in rows] or ["no alerts"], as_json=args.json)
    return 0


def _row(r: dict[str, Any]) -> str:
    pos = "" if r["ra_deg"] is None else f"  RA {r['ra_deg']:.3f} Dec {r['dec_deg']:+.3f}"
    return (f"{r['time']}  {r['kind']:<19} {(r['event_name'] or r['event_key']):<28} rev {r['revision']}"
            f" {r['alert_type']}{' TEST' if r['test'] else ''}{pos}")
