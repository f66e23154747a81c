"""Compare two pytest-benchmark JSON files of the same bench files: before and after a change.

    python bench/compare.py OLD.json NEW.json [--label-old REV] [--label-new REV] [-o section.md]

Benchmarks are matched by name; for each pair the markdown table gives the mean time of both
runs and the ratio new/old (< 1: the new code is faster). Intended for runs made one after the
other on a quiet machine, so that the ratio measures the code and not the load.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:.3g} s"


def load(path: str) -> dict[str, dict]:
    data = json.loads(Path(path).read_text())
    return {b["fullname"].split("::", 1)[-1]: b for b in data["benchmarks"]}


def compare(old: dict[str, dict], new: dict[str, dict]) -> list[tuple[str, float, float]]:
    rows = []
    for name in sorted(set(old) & set(new)):
        rows.append((name, old[name]["stats"]["mean"], new[name]["stats"]["mean"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--label-old", default="old")
    p.add_argument("--label-new", default="new")
    p.add_argument("-o", "--out", default=None, help="write the markdown section here (default: stdout)")
    args = p.parse_args(argv)
    rows = compare(load(args.old), load(args.new))
    if not rows:
        print("compare.py: no benchmark names in common", file=sys.stderr)
        return 2
    lines = [f"| benchmark | {args.label_old} mean | {args.label_new} mean | new / old |", "|---|---|---|---|"]
    for name, a, b in rows:
        lines.append(f"| {name} | {_fmt(a)} | {_fmt(b)} | {b / a:.3f} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
