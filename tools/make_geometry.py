#!/usr/bin/env python
"""Regenerate python/icecore/data/icecube86_geometry.csv.gz from the public IC86 geometry.

Input: ``icecube.geo`` (tab-separated ``x y z string dom`` per in-ice DOM, 86 strings x 60 DOMs,
z measured from the surface-referenced origin of that file). IceCube coordinates put the
origin near the detector centre, 1948.07 m below the surface reference, so z is shifted by
+1948.07 m (DESIGN.md). x, y are kept as they are. Values are written to 0.01 m (the precision
of the source).

Usage: python tools/make_geometry.py [path/to/icecube.geo] [-o output.csv.gz]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from pathlib import Path

import numpy as np

Z_SHIFT_M = 1948.07


def main() -> int:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("ICECORE_SHARED", here.parent / "shared"))
    ap.add_argument("geo", nargs="?", default=str(shared / "data" / "icecube.geo"))
    ap.add_argument("-o", "--output", default=str(here / "python" / "icecore" / "data" / "icecube86_geometry.csv.gz"))
    args = ap.parse_args()
    rows = np.loadtxt(args.geo, comments="#", skiprows=4)
    if rows.shape != (5160, 5):
        raise SystemExit(f"expected 5160 DOM rows of 5 columns, got {rows.shape}")
    string = rows[:, 3].astype(int)
    dom = rows[:, 4].astype(int)
    order = np.lexsort((dom, string))
    buf = io.StringIO()
    buf.write("# IC86 in-ice DOM positions in IceCube coordinates (m); derived from icecube.geo with z + 1948.07 m\n")
    buf.write("string,dom,x,y,z\n")
    for i in order:
        buf.write(f"{string[i]},{dom[i]},{rows[i, 0]:.2f},{rows[i, 1]:.2f},{rows[i, 2] + Z_SHIFT_M:.2f}\n")
    # mtime=0: byte-identical output for identical input
    data = gzip.compress(buf.getvalue().encode(), mtime=0)
    Path(args.output).write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes, {len(order)} DOMs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
