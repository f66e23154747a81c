"""The messages of the RabbitMQ scan protocol, and their validation (no I/O here).

Everything that arrives on a queue is untrusted: any body may be truncated, non-JSON, a JSON
array, deeply nested, or well-formed with wrong values. The parsers here turn a body into a
checked object or raise :class:`ProtocolError` with the reason; they never raise anything else,
so a worker or a scan can never die of a message.

Messages (JSON objects, protocol version ``v`` = 2)
---------------------------------------------------
- task (scan -> work queue): ``type="task"``, ``scan_id``, ``round`` (>= 1), ``chunk`` (>= 0),
  ``nonce`` (a fresh random hex string per publish), ``nside`` (the worker passes it to
  ``fit_batch``, which may choose per-level settings from it), ``pixel`` (NESTED ids),
  ``zenith``, ``azimuth`` (radians), ``seeds`` ((n, 4): x, y, z in m, t in ns).
- result (worker -> scan): ``type="result"``, the task's ``scan_id``, ``round``, ``chunk``,
  ``nonce`` and ``pixel`` echoed, ``neg_llh``, ``vertex`` (n, 4), ``n_eval``, ``status``,
  ``worker``, ``redelivered``. The scan accepts it only if the nonce is one it published for that
  chunk and the pixel ids are exactly the chunk's, so a result injected by anyone who has not
  seen the task is refused.
- task_error (worker -> scan): a task the worker refused or could not fit, with ``error``.
- event_request / event / event_unknown: a worker asks a scan for its fitter spec once.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import IcecoreError

__all__ = [
    "PROTOCOL_VERSION",
    "MAX_BODY_BYTES",
    "MAX_TASK_PIXELS",
    "ProtocolError",
    "Task",
    "FitResult",
    "decode",
    "parse_task",
    "task_header",
    "parse_result",
    "clean_worker_id",
]

PROTOCOL_VERSION = 2
#: Bodies above this size are refused before JSON decoding.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Pixels per task at most (the scan's chunk_size is bounded by it too).
MAX_TASK_PIXELS = 4096
_INT32_MAX = 2**31 - 1
_ID = re.compile(r"[0-9A-Za-z._:-]{1,128}")


class ProtocolError(IcecoreError, ValueError):
    """A message that does not follow the protocol; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Task:
    """A checked task message."""

    scan_id: str
    round: int
    chunk: int
    nonce: str
    nside: int
    pixel: np.ndarray  # (n,) int64
    zenith: np.ndarray  # (n,) float64, radians in [0, pi]
    azimuth: np.ndarray  # (n,) float64, radians
    seeds: np.ndarray  # (n, 4) float64


@dataclass(frozen=True)
class FitResult:
    """A checked result message for one chunk."""

    neg_llh: np.ndarray
    vertex: np.ndarray
    n_eval: np.ndarray
    status: np.ndarray
    worker: str
    redelivered: bool


def decode(body: Any) -> dict[str, Any]:
    """A message body as a JSON object (ProtocolError if too large, not JSON, or not an object)."""
    if not isinstance(body, (bytes, bytearray, str)):
        raise ProtocolError(f"body is {type(body).__name__}, not bytes")
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
        raise ProtocolError(f"not JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"JSON {type(msg).__name__}, not an object")
    return msg


def _int(msg: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = msg.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError(f"'{key}' must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ProtocolError(f"'{key}' = {v} outside [{lo}, {hi}]")
    return v


def _ident(msg: dict[str, Any], key: str) -> str:
    v = msg.get(key)
    if not isinstance(v, str) or not _ID.fullmatch(v):
        raise ProtocolError(f"'{key}' must be a short identifier string")
    return v


def _numbers(value: Any, key: str, n: int | None) -> np.ndarray:
    if not isinstance(value, list):
        raise ProtocolError(f"'{key}' must be a list, got {type(value).__name__}")
    if n is not None and len(value) != n:
        raise ProtocolError(f"'{key}' has {len(value)} values, expected {n}")
    for x in value:
        if type(x) is not float and type(x) is not int:
            raise ProtocolError(f"'{key}' holds a {type(x).__name__}, not a number")
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:  # an int beyond float range
        raise ProtocolError(f"'{key}' holds an integer beyond float range") from None


def _ints(value: Any, key: str, n: int, lo: int, hi: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        raise ProtocolError(f"'{key}' must be a list of {n} integers")
    for x in value:
        if type(x) is not int or not lo <= x <= hi:
            raise ProtocolError(f"'{key}' holds {x!r}, not an integer in [{lo}, {hi}]")
    return np.array(value, dtype=np.int64)


def _rows4(value: Any, key: str, n: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        raise ProtocolError(f"'{key}' must be a list of {n} rows")
    out = np.empty((n, 4))
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 4:
            raise ProtocolError(f"'{key}' row {i} is not a list of 4 numbers")
        out[i] = _numbers(row, key, 4)
    if not np.all(np.isfinite(out)):
        raise ProtocolError(f"'{key}' holds NaN or infinity")
    return out


def task_header(msg: dict[str, Any]) -> tuple[str, int, int, str] | None:
    """(scan_id, round, chunk, nonce) of a message if those fields are valid, else None."""
    try:
        return (_ident(msg, "scan_id"), _int(msg, "round", 1, _INT32_MAX), _int(msg, "chunk", 0, _INT32_MAX),
                _ident(msg, "nonce"))
    except ProtocolError:
        return None


def parse_task(body: Any) -> Task:
    """A task body as a :class:`Task`; ProtocolError (with the reason) if it cannot be fitted."""
    msg = decode(body)
    if msg.get("type") != "task":
        raise ProtocolError(f"type {str(msg.get('type'))[:32]!r}, expected 'task'")
    if msg.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {str(msg.get('v'))[:16]!r}, expected {PROTOCOL_VERSION}")
    scan_id, rnd, chunk = _ident(msg, "scan_id"), _int(msg, "round", 1, _INT32_MAX), _int(msg, "chunk", 0, _INT32_MAX)
    nonce = _ident(msg, "nonce")
    nside = _int(msg, "nside", 1, 2**29)
    if nside & (nside - 1):
        raise ProtocolError(f"'nside' = {nside} is not a power of two")
    zen = msg.get("zenith")
    if not isinstance(zen, list) or not 1 <= len(zen) <= MAX_TASK_PIXELS:
        raise ProtocolError(f"'zenith' must be a list of 1 to {MAX_TASK_PIXELS} numbers")
    n = len(zen)
    zenith = _numbers(zen, "zenith", n)
    azimuth = _numbers(msg.get("azimuth"), "azimuth", n)
    if not (np.all(np.isfinite(zenith)) and np.all((zenith >= 0.0) & (zenith <= math.pi))):
        raise ProtocolError("'zenith' must be finite radians in [0, pi]")
    if not (np.all(np.isfinite(azimuth)) and np.all(np.abs(azimuth) <= 4 * math.pi)):
        raise ProtocolError("'azimuth' must be finite radians within [-4 pi, 4 pi]")
    pixel = _ints(msg.get("pixel"), "pixel", n, 0, 12 * nside * nside - 1)
    seeds = _rows4(msg.get("seeds"), "seeds", n)
    return Task(scan_id, rnd, chunk, nonce, nside, pixel, zenith, azimuth, seeds)


def clean_worker_id(value: Any) -> str:
    """The ``worker`` field of a reply as a printable id ('?' when missing or not an id)."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else "?"


def parse_result(msg: dict[str, Any], pixel: np.ndarray) -> FitResult:
    """Check a decoded result against its chunk's ``pixel`` ids (the caller checked scan/round/nonce).

    Shape and values: the pixel ids echoed exactly; ``neg_llh`` never NaN or -inf (+inf only with a
    non-zero status, a failed fit); ``vertex`` (n, 4) finite; ``n_eval`` and ``status`` integers
    in [0, 2^31).
    """
    n = len(pixel)
    got = msg.get("pixel")
    if not isinstance(got, list) or len(got) != n or any(type(p) is not int for p in got) \
            or not np.array_equal(np.array(got, dtype=np.int64), pixel):
        raise ProtocolError("'pixel' ids do not match the chunk's")
    neg_llh = _numbers(msg.get("neg_llh"), "neg_llh", n)
    vertex = _rows4(msg.get("vertex"), "vertex", n)
    n_eval = _ints(msg.get("n_eval"), "n_eval", n, 0, _INT32_MAX)
    status = _ints(msg.get("status"), "status", n, 0, _INT32_MAX)
    if np.any(np.isnan(neg_llh)) or np.any(neg_llh == -np.inf):
        raise ProtocolError("'neg_llh' holds NaN or -inf")
    if np.any(np.isinf(neg_llh) & (status == 0)):
        raise ProtocolError("'neg_llh' is infinite for a converged fit (status 0)")
    return FitResult(neg_llh, vertex, n_eval.astype(np.int32), status.astype(np.int32),
                     clean_worker_id(msg.get("worker")), msg.get("redelivered") is True)
