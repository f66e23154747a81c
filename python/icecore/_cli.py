"""What every ``icecore`` sub-command shares: JSON output, list parsing, error reporting.

The area CLIs (``icecore/<area>/cli.py``) stay thin: they parse flags, call the library and hand
the result to :func:`emit`. Errors raised by the library are printed by :func:`report_error` as
one line (no traceback) by :func:`icecore.cli.main`.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = ["emit", "to_jsonable", "dumps", "parse_list", "parse_key_values", "report_error"]

T = TypeVar("T")


def to_jsonable(obj: Any) -> Any:
    """``json.dumps`` default: numpy scalars/arrays, paths, sets, objects with ``to_dict``.

    Non-finite floats are written as ``null`` by :func:`dumps` (JSON has no NaN).
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _strip_nonfinite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _strip_nonfinite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strip_nonfinite(v) for v in obj]
    return obj


def dumps(payload: Any, *, indent: int | None = 2) -> str:
    """JSON text of ``payload`` with numpy values converted and NaN/inf written as null."""
    plain = json.loads(json.dumps(payload, default=to_jsonable))
    return json.dumps(_strip_nonfinite(plain), indent=indent, allow_nan=False)


def emit(payload: Any, lines: Iterable[str], *, as_json: bool) -> None:
    """Print ``payload`` as JSON (``--json``) or the human-readable ``lines``."""
    if as_json:
        print(dumps(payload))
    else:
        for line in lines:
            print(line)


def parse_list(text: str, convert: Callable[[str], T], *, flag: str) -> list[T]:
    """Parse ``"a,b,c"`` with ``convert``; a bad item raises ``ValueError`` naming ``flag``."""
    out: list[T] = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        try:
            out.append(convert(item))
        except (TypeError, ValueError):
            raise ValueError(f"{flag}: cannot read {item!r} in {text!r}") from None
    if not out:
        raise ValueError(f"{flag}: no values in {text!r}")
    return out


def parse_key_values(items: Iterable[str], convert: Callable[[str], T], *, flag: str) -> dict[str, T]:
    """Parse repeated ``KEY=VALUE`` flags; a malformed item raises ``ValueError`` naming ``flag``."""
    out: dict[str, T] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag}: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = convert(value.strip())
        except (TypeError, ValueError):
            raise ValueError(f"{flag}: cannot read the value of {item!r}") from None
    return out


def report_error(exc: BaseException, *, prog: str = "icecore") -> int:
    """Print ``exc`` as one line on stderr and return the exit status (2)."""
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return 2
