"""Exception classes of icecore.

Every error caused by bad input is a subclass of :class:`ValueError` (or :class:`TypeError`),
so ``except ValueError`` catches them; the message names the argument and the problem.
"""

from __future__ import annotations

__all__ = [
    "IcecoreError",
    "InputError",
    "ParseError",
    "DataFormatError",
    "FitError",
    "StorageError",
    "ServiceUnavailable",
]


class IcecoreError(Exception):
    """Base class of all icecore-specific exceptions."""


class InputError(IcecoreError, ValueError):
    """An argument has the wrong shape, type, range or contains NaN.

    Attributes
    ----------
    argument : str or None
        Name of the offending argument.
    """

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class ParseError(IcecoreError, ValueError):
    """A message or file (GCN notice, event file, ...) could not be parsed.

    Attributes
    ----------
    reason : str
        Human-readable reason.
    source : str or None
        Format or file the parser was reading, when known.
    """

    def __init__(self, reason: str, source: str | None = None) -> None:
        msg = reason if source is None else f"{source}: {reason}"
        super().__init__(msg)
        self.reason = reason
        self.source = source


class DataFormatError(IcecoreError, ValueError):
    """A data file (event table, IRF, trace archive) is malformed; names file and line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}" + (f":{line}" if line is not None else "") + ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class FitError(IcecoreError, RuntimeError):
    """A minimiser failed in a way the caller asked to be raised rather than flagged."""


class StorageError(IcecoreError, OSError):
    """Something could not be stored safely; nothing already stored was modified."""


class ServiceUnavailable(IcecoreError, ConnectionError):
    """An external service (Kafka broker, RabbitMQ) could not be reached."""
