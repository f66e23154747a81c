"""Progress of long loops: a tqdm bar on a terminal, periodic log lines in a batch log.

Every long job (scan levels, trials, coverage, radio months, follow-ups) wraps its loop in
:func:`progress_bar`::

    with progress_bar(total=n, desc="ps trials", unit="trial") as bar:
        for ...:
            bar.update(k)

``progress=None`` (the default everywhere) chooses by where stderr goes:

- an interactive terminal: a tqdm bar with count/total, rate and ETA;
- anything else (a batch log, a pipe): one ``INFO`` line on the ``icecore.progress`` logger at
  most every :data:`LOG_EVERY_S` seconds, and one at the end, e.g.
  ``ps trials: 4000/10000 (40.0 %), 212 trial/s, elapsed 0:00:19, ETA 0:00:28``.

``progress=True`` forces the bar, ``progress=False`` silences both. :func:`configure` sets the
process-wide default (``icecore -q`` = no progress at all).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["progress_bar", "want_progress", "configure", "LogProgress", "LOG_EVERY_S"]

log = logging.getLogger("icecore.progress")

#: Seconds between two progress log lines when stderr is not a terminal.
LOG_EVERY_S = 30.0

_DEFAULT: bool | None = None  # set by configure(); None = decide per stream


def configure(*, enabled: bool | None = None, log_every_s: float | None = None) -> None:
    """Process-wide default of ``progress=None``: ``False`` silences all progress, ``True`` forces bars."""
    global _DEFAULT, LOG_EVERY_S
    _DEFAULT = enabled
    if log_every_s is not None:
        LOG_EVERY_S = float(log_every_s)


def _isatty() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def want_progress(progress: bool | None) -> bool:
    """Whether a tqdm bar is shown: ``None`` means only when stderr is an interactive terminal."""
    if progress is None:
        progress = _DEFAULT
    if progress is None:
        return _isatty()
    return bool(progress)


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class LogProgress:
    """The tqdm interface used by icecore loops, reporting by log lines (fraction, rate, ETA).

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped iterable (``for x in LogProgress(items)``); its ``len`` is the total if known.
    total : int, optional
        Number of units of the job (unknown: rate and count only).
    desc, unit : str
        What is counted, as tqdm's.
    every_s : float
        Minimum seconds between two lines.
    """

    def __init__(self, iterable: Iterable[Any] | None = None, *, total: float | None = None, desc: str = "",
                 unit: str = "it", every_s: float | None = None, logger: logging.Logger | None = None,
                 **_ignored: Any) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.desc = desc or "progress"
        self.unit = unit
        self.n = 0.0
        self.every_s = LOG_EVERY_S if every_s is None else float(every_s)
        self.log = logger or log
        self.t0 = time.monotonic()
        self._last = self.t0
        self._closed = False
        self._postfix = ""

    def line(self) -> str:
        """The progress line now, e.g. ``coverage: 20/200 (10.0 %), 1.3 event/s, elapsed ..., ETA ...``."""
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = self.n / elapsed
        count = f"{self.n:g}"
        parts = [f"{self.desc}: {count}" + (f"/{self.total:g}" if self.total else f" {self.unit}")]
        if self.total:
            parts[0] += f" ({100.0 * self.n / self.total:.1f} %)"
        parts.append(f"{rate:.3g} {self.unit}/s")
        parts.append(f"elapsed {_hms(elapsed)}")
        if self.total and rate > 0:
            parts.append(f"ETA {_hms(max(self.total - self.n, 0.0) / rate)}")
        text = ", ".join(parts)
        return f"{text} [{self._postfix}]" if self._postfix else text

    def update(self, n: float = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.log.info("%s", self.line())

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self._postfix = text

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        self._postfix = ", ".join([str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()])

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or self.desc

    def refresh(self) -> None:
        pass

    def write(self, text: str) -> None:
        self.log.info("%s", text)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.n:
                self.log.info("%s (done)", self.line())

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("LogProgress without an iterable is not iterable")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(iterable: Iterable[Any] | None = None, *, progress: bool | None = None, **kwargs: Any) -> Any:
    """A tqdm bar, a :class:`LogProgress` reporter, or a silent pass-through (same interface).

    ``progress``: ``None`` = bar on a terminal, log lines otherwise (unless :func:`configure`
    said otherwise); ``True`` = bar; ``False`` = nothing. ``kwargs`` are tqdm's (``total``,
    ``desc``, ``unit``, ``leave``, ...).
    """
    from tqdm.auto import tqdm

    setting = _DEFAULT if progress is None else progress
    if setting is None and not _isatty():
        return LogProgress(iterable, **kwargs)
    return tqdm(iterable, disable=not bool(setting if setting is not None else True), **kwargs)
