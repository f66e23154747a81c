"""The ``icecore`` command line: a thin layer over the Python API.

Each job contributes one sub-command group from ``icecore/<area>/cli.py``, which defines
``register(subparsers)``. The groups are listed explicitly in :data:`_AREA_CLIS`: every area
ships in the same wheel, so a missing one is a packaging bug, not something to hide.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import _progress
from ._cli import dumps, output_dir, report_error, use_help_formatter
from ._version import __version__
from .alerts import cli as alerts_cli
from .errors import IcecoreError
from .likelihood import cli as likelihood_cli
from .lvk import cli as lvk_cli
from .ps import cli as ps_cli
from .radio import cli as radio_cli
from .scan import cli as scan_cli
from .service import cli as service_cli
from .stats import cli as stats_cli

__all__ = ["main", "build_parser"]

#: The sub-command groups, in the order ``icecore --help`` lists them.
_AREA_CLIS = (alerts_cli, stats_cli, likelihood_cli, scan_cli, ps_cli, lvk_cli, radio_cli, service_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icecore",
        description="IceCube multi-messenger toolkit: GCN alerts, sky scans, point-source "
        "likelihood, gravitational-wave follow-up and radio antenna orientation.",
    )
    parser.add_argument("--version", action="version", version=f"icecore {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output: -v every step (INFO), -vv debug")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="only warnings and errors: no progress bars or progress lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the realtime chain end to end on embedded defaults")
    demo.add_argument("--out", required=True, type=output_dir, help="output directory (created)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument("--quick", action="store_true", help="coarse 2/8/32 scan schedule (seconds; for smoke tests)")
    demo.set_defaults(func=_run_demo)

    for area_cli in _AREA_CLIS:
        area_cli.register(sub)
    use_help_formatter(parser)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    """-q: warnings only, no progress; default: warnings plus progress lines; -v: INFO; -vv: DEBUG."""
    level = logging.WARNING if quiet else logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("icecore").setLevel(level)
    progress_log = logging.getLogger("icecore.progress")
    progress_log.setLevel(logging.WARNING if quiet else min(level, logging.INFO))
    _progress.configure(enabled=False if quiet else None)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    summary = run_demo(args.out, seed=args.seed, threads=args.threads, quick=args.quick)
    if args.json:
        print(dumps(summary))
    else:
        print(f"icecore demo: wrote {args.out}")
        for step in summary["steps"]:
            print(f"  - {step['name']}: {step['summary']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 with one "error:" line naming the flag
    _configure_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (IcecoreError, ValueError, OSError) as exc:
        # OSError: a path mistake (directory for a file, existing file, permissions); one line
        if args.verbose >= 2:
            raise
        return report_error(exc, flag_names=getattr(args, "flag_names", None))
    except ImportError as exc:  # a missing optional dependency: the message says what to install
        if args.verbose >= 2:
            raise
        return report_error(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
