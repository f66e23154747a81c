"""``icecore serve``: run the realtime service (HTTP API + page + scans + alert follow-ups).

Examples::

    icecore serve --data-dir state --token "$ICECORE_TOKEN"                  # SQLite, in-process scans
    icecore serve --database postgresql://u:pw@db/icecore --amqp amqp://... # production
    icecore serve --kafka bootstrap.servers=localhost:9092 --catalogue 4fgl=gll_psc_v35.fit
    icecore serve --kafka ... --lvk-events events.csv --lvk-background IC86-2011_PS-release  # GW alerts too
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["register", "config_from_args", "main"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the realtime service (HTTP API, dashboard, scans, alert follow-ups)")
    p.add_argument("--data-dir", default=os.environ.get("ICECORE_SERVICE_DATA_DIR", "icecore-service"),
                   help="the service's only writable directory (default ./icecore-service)")
    p.add_argument("--database", default=os.environ.get("ICECORE_SERVICE_DATABASE"),
                   help="SQLAlchemy URL (default: SQLite in the data directory; postgresql://... for production)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token", action="append", default=[],
                   help="write token (repeatable; also ICECORE_SERVICE_TOKENS=a,b); none: read-only service")
    p.add_argument("--amqp", default=os.environ.get("ICECORE_SERVICE_AMQP_URL"),
                   help="run scans on RabbitMQ workers (icecore scan worker --amqp URL)")
    p.add_argument("--threads", type=int, default=None, help="in-process scan threads (default: all cores)")
    p.add_argument("--scan-workers", type=int, default=1, help="scans run at the same time (default 1)")
    p.add_argument("--kafka", action="append", default=[], metavar="KEY=VALUE",
                   help="confluent-kafka setting of the alert listener, e.g. bootstrap.servers=host:9092 "
                        "(repeatable; without it no listener runs)")
    p.add_argument("--topic", action="append", default=[], help="Kafka topic (default: IceCube's GCN JSON topics)")
    p.add_argument("--group-id", default="icecore-service", help="Kafka consumer group (default icecore-service)")
    p.add_argument("--catalogue", action="append", default=[], metavar="NAME=PATH",
                   help="catalogue for association (4FGL FITS, ICECAT-1 CSV, TeV CSV; repeatable)")
    p.add_argument("--ps-data", default=None, help="public point-source data folder for the time-window follow-up")
    p.add_argument("--ps-trials", type=int, default=200, help="background trials per follow-up window (default 200)")
    p.add_argument("--lvk-events", default=None,
                   help="CSV of neutrino events for the LVK follow-up of GW alerts (icecore lvk followup --events)")
    p.add_argument("--lvk-background", default=None,
                   help="IC86-2011 point-source release folder: the LVK follow-up's background sample")
    p.add_argument("--lvk-skymap-dir", default=None, help="folder of the sky maps named by LVK VOEvents")
    p.add_argument("--lvk-topic", action="append", default=[],
                   help="Kafka topic of LVK GW alerts (default igwn.gwalert; repeatable)")
    p.add_argument("--lvk-nside", type=int, default=128, help="LVK follow-up resolution (default 128)")
    p.add_argument("--lvk-trials", type=int, default=2000, help="LVK follow-up background trials (default 2000)")
    p.add_argument("--trials", type=float, default=1.0, help="trials factor of alert significances (default 1)")
    p.add_argument("--max-body-bytes", type=int, default=8 * 1024 * 1024, help="largest request body (default 8 MiB)")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots of scan results")
    p.set_defaults(func=_run)


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    from .._cli import parse_key_values

    return parse_key_values(list(items), str, flag=what) if items else {}


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`ServiceConfig` of parsed ``icecore serve`` arguments."""
    from .config import ServiceConfig

    env_tokens = tuple(t for t in os.environ.get("ICECORE_SERVICE_TOKENS", "").split(",") if t.strip())
    kafka = _pairs(args.kafka, "--kafka") or None
    return ServiceConfig(
        data_dir=Path(args.data_dir), database=args.database, tokens=tuple(args.token) + env_tokens,
        max_body_bytes=args.max_body_bytes, amqp_url=args.amqp, scan_threads=args.threads,
        scan_workers=args.scan_workers, kafka=kafka, kafka_topics=tuple(args.topic), kafka_group_id=args.group_id,
        catalogues={k: Path(v) for k, v in _pairs(args.catalogue, "--catalogue").items()},
        ps_data=Path(args.ps_data) if args.ps_data else None, ps_trials=args.ps_trials, n_trials=args.trials,
        lvk_events=Path(args.lvk_events) if args.lvk_events else None,
        lvk_background=Path(args.lvk_background) if args.lvk_background else None,
        lvk_skymap_dir=Path(args.lvk_skymap_dir) if args.lvk_skymap_dir else None,
        lvk_nside=args.lvk_nside, lvk_trials=args.lvk_trials,
        lvk_topics=tuple(args.lvk_topic) or ServiceConfig.lvk_topics,
        scan_plots=not args.no_plots)


def _run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from .api import create_app

    cfg = config_from_args(args)
    if not cfg.tokens:
        logging.getLogger(__name__).warning("no --token given: write endpoints are disabled")
    app = create_app(cfg)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m icecore.service.cli serve ...`` (the same as ``icecore serve ...``)."""
    import logging
    import sys

    parser = argparse.ArgumentParser(prog="icecore")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
