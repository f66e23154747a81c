"""Argument checks shared by the public API (checked before any C++ runs).

All helpers raise :class:`icecore.errors.InputError` (a ValueError) naming the argument.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "as_array",
    "as_degrees",
    "check_threads",
    "MAX_THREADS",
    "check_positive",
    "rng_from_seed",
]


def as_array(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: Any = np.float64,
    allow_empty: bool = False,
    finite: bool = True,
    kinds: str = "biuf",
) -> np.ndarray:
    """Convert ``value`` to a C-contiguous numpy array of ``dtype`` with checks.

    Parameters
    ----------
    value : array_like
        Input.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Accepted number(s) of dimensions.
    dtype : numpy dtype or None
        Target dtype; ``None`` keeps the input dtype (after the kind check).
    allow_empty : bool
        Whether a zero-size array is accepted.
    finite : bool
        Reject NaN and infinities (for floating input).
    kinds : str
        Accepted numpy dtype kinds of the *input* (b bool, i int, u uint, f float).
    """
    if isinstance(value, (str, bytes)):
        raise InputError(f"argument '{name}': expected a numeric array, got {type(value).__name__}", name)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists, exotic objects
        raise InputError(f"argument '{name}': cannot be converted to an array ({exc})", name) from None
    if hasattr(value, "unit") and hasattr(value, "value"):  # astropy Quantity passed by mistake
        arr = np.asarray(value.value)
    if arr.dtype.kind not in kinds:
        raise InputError(
            f"argument '{name}': expected numeric values, got dtype {arr.dtype} (kind '{arr.dtype.kind}')", name
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise InputError(f"argument '{name}': expected ndim in {allowed}, got shape {arr.shape}", name)
    if not allow_empty and arr.size == 0:
        raise InputError(f"argument '{name}': is empty", name)
    # np.asarray(order="C") keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
    arr = np.asarray(arr, dtype=dtype, order="C")
    if finite and arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise InputError(f"argument '{name}': contains NaN or infinity (first at flat index {bad})", name)
    return arr


def as_degrees(value: Any, name: str, **kwargs: Any) -> np.ndarray:
    """Angles in degrees from a number, array or astropy Quantity (any angular unit)."""
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        try:
            import astropy.units as u

            value = value.to_value(u.deg)
        except Exception as exc:
            raise InputError(f"argument '{name}': not an angle ({exc})", name) from None
    return as_array(value, name, **kwargs)


#: Largest thread count a kernel accepts; the same bound as ``icecore::kMaxThreads`` in
#: cpp/include/icecore/parallel.hpp, where every kernel's ``parallel_for`` clamps to it.
MAX_THREADS = 1024


def check_threads(threads: int | None, name: str = "threads") -> int:
    """Validate a thread count; ``None`` or 0 means all cores. Returns the count for C++ (0 = all).

    Counts above :data:`MAX_THREADS` (1024) are refused: they are always a mistake (the cores of
    one machine), and the operating system refuses thread number ~32 k, which used to abort the
    interpreter. If the system refuses a thread below that bound (a process or memory limit), the
    kernel raises ``RuntimeError`` naming the counts.
    """
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise InputError(f"argument '{name}': expected an int or None, got {type(threads).__name__}", name)
    if threads < 0 or threads > MAX_THREADS:
        raise InputError(f"argument '{name}': must be within [0, {MAX_THREADS}] (0 or None: all cores), "
                         f"got {threads}", name)
    return int(threads)


def n_cores() -> int:
    """Usable CPU cores of this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def check_positive(value: Any, name: str, *, integer: bool = False, allow_zero: bool = False) -> float | int:
    """A finite positive scalar (``integer=True`` for counts)."""
    if isinstance(value, bool) or not np.isscalar(value) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"argument '{name}': expected a number, got {value!r}", name)
    if integer and not float(value).is_integer():
        raise InputError(f"argument '{name}': expected an integer, got {value!r}", name)
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"argument '{name}': must be {'>= 0' if allow_zero else '> 0'}, got {value!r}", name)
    return int(v) if integer else v


def rng_from_seed(seed: Any, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from an int, a SeedSequence, a Generator or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (np.random.SeedSequence,)):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"argument '{name}': expected an int, a numpy Generator or None, got {seed!r}", name)
    if seed < 0:
        raise InputError(f"argument '{name}': must be >= 0, got {seed}", name)
    return np.random.default_rng(int(seed))
