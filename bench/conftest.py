"""Benchmark conventions.

Every benchmark records ``extra_info``:
  role      "icecore" or "baseline"
  baseline  for baselines, what a user would otherwise use (e.g. "numpy sliding_window_view")
  size      a human-readable description of the input
  items     number of work items per call (traces, events, pixels...) for rate columns
and each icecore timing is paired, in the same group, with at least one baseline on the same
input whose result is asserted to agree. ``python bench/report.py results.json`` turns a
``--benchmark-json`` file into BENCHMARKS.md.

ICECORE_BENCH_SCALE (float, default 1) scales the input sizes.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "bench_area(name): the kernel area a benchmark belongs to")


@pytest.fixture(scope="session")
def bench_scale() -> float:
    return float(os.environ.get("ICECORE_BENCH_SCALE", "1"))


@pytest.fixture
def record():
    """record(benchmark, role=..., size=..., items=..., baseline=...) fills extra_info."""

    def _record(benchmark, *, role: str, size: str, items: int, baseline: str | None = None, **extra):
        benchmark.extra_info.update(role=role, size=size, items=int(items), **extra)
        if baseline:
            benchmark.extra_info["baseline"] = baseline

    return _record
