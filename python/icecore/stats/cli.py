"""``icecore significance P [--trials N] [--sided 2] [--json]``."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("significance", help="p-value -> pre/post-trial significance")
    p.add_argument("p", type=float, help="pre-trial p-value")
    p.add_argument("--trials", type=float, default=1.0, help="effective number of trials (default 1)")
    p.add_argument("--sided", type=int, choices=(1, 2), default=1, help="1 (default, IceCube) or 2")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from .significance import significance

    s = significance(args.p, args.trials, args.sided)
    if args.json:
        print(json.dumps(s.to_dict()))
    else:
        side = "one-sided" if s.sided == 1 else "two-sided"
        print(f"pre-trial : p = {s.p_pre:.4g}  ->  {s.sigma_pre:.3f} sigma ({side})")
        print(f"post-trial: p = {s.p_post:.4g}  ->  {s.sigma_post:.3f} sigma  (N = {s.n_trials:g} trials)")
        print(f"evidence  : {s.evidence}")
    return 0
