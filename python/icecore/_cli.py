"""What every ``icecore`` sub-command shares: JSON output, list parsing, flag types, error reporting.

The area CLIs (``icecore/<area>/cli.py``) stay thin: they parse flags, call the library and hand
the result to :func:`emit`. Errors raised by the library are printed by :func:`report_error` as
one line (no traceback) by :func:`icecore.cli.main`, in the user's words: Python argument names
are replaced by the flags that set them (:data:`FLAG_NAMES`, overridden per sub-command with
``parser.set_defaults(flag_names={...})``).

Flag types (argparse ``type=``) check what the user typed before any work is done: paths
(:func:`output_file`, :func:`output_dir`, :func:`input_file`, :func:`input_dir`, :func:`suffixes`)
and angles (:func:`ra_deg`, :func:`dec_deg`, :func:`azimuth_deg`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = ["emit", "to_jsonable", "dumps", "parse_list", "parse_key_values", "report_error", "user_message",
           "FLAG_NAMES", "HelpFormatter", "use_help_formatter", "output_file", "output_dir", "input_file",
           "input_dir", "check_input_file", "check_input_dir", "suffixes", "ra_deg", "dec_deg", "azimuth_deg",
           "require_plotting", "kafka_client_config"]

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
        except argparse.ArgumentTypeError as exc:  # a flag type (ra_deg, ...) with its own message
            raise ValueError(f"{flag}: {exc}") from None
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
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{flag}: {item!r}: {exc}") from None
        except (TypeError, ValueError):
            raise ValueError(f"{flag}: cannot read the value of {item!r}") from None
    return out


#: Python argument name -> the flag that sets it, for every sub-command (the ONE place API
#: errors are translated). A sub-command whose flag differs adds ``set_defaults(flag_names=...)``.
FLAG_NAMES: dict[str, str] = {
    "out": "--out",
    "overwrite": "--overwrite",
    "seed": "--seed",
    "threads": "--threads",
    "nsides": "--nsides",
    "extensions": "--extensions",
    "n_events": "--n-events",
    "seasons": "--seasons",
    "gamma_range": "--gamma-range",
    "gps_deg": "--gps",
    "gps_sigma_deg": "--gps-sigma",
    "arm_azimuth_deg": "--arm",
    "band_mhz": "--band",
    "cut": "--cut",
    "cut_k": "--cut-k",
}


def user_message(exc: BaseException, flag_names: Mapping[str, str] | None = None) -> str:
    """The text of ``exc`` with Python argument names replaced by their flags.

    ``argument 'out': ...`` becomes ``--out: ...``; ``pass overwrite=True`` becomes ``pass
    --overwrite``; ``pass time=`` becomes ``pass --mjd``. Names without a flag are left alone.
    OS errors (a directory where a file is expected, ...) become one sentence with the path.
    """
    names = {**FLAG_NAMES, **(flag_names or {})}
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.strerror:
        where = exc.filename2 if isinstance(exc, IsADirectoryError) and exc.filename2 else exc.filename
        return f"{exc.strerror.lower()}: {where}" if where else exc.strerror.lower()
    text = str(exc) if not isinstance(exc, FileNotFoundError) or not exc.filename else \
        f"no such file or directory: {exc.filename}"

    def _arg(m: re.Match[str]) -> str:
        flag = names.get(m.group(1))
        return f"{flag}:" if flag else m.group(0)

    def _pass(m: re.Match[str]) -> str:
        flag = names.get(m.group(1))
        if flag is None:
            return m.group(0)
        value = m.group(2)
        return f"pass {flag}" if value in ("", "True") else f"pass {flag} {value}"

    text = re.sub(r"argument '([A-Za-z_][A-Za-z0-9_]*)':", _arg, text)
    return re.sub(r"pass ([A-Za-z_][A-Za-z0-9_]*)=(True|[^\s),;]*)", _pass, text)


def report_error(exc: BaseException, *, prog: str = "icecore", flag_names: Mapping[str, str] | None = None) -> int:
    """Print ``exc`` as one line on stderr (in flag names, see :func:`user_message`); return 2."""
    print(f"{prog}: error: {user_message(exc, flag_names)}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------------ --help

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows every default, except where the help text already says it (or there is none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS) \
                or action.option_strings == [] or isinstance(action, argparse._StoreTrueAction):
            return text
        default = action.default
        if isinstance(default, (list, tuple)):
            shown = " ".join(str(v) for v in default) if default else "none"
        else:
            shown = str(default)
        shown = shown.replace("%", "%%")  # argparse %-formats help strings
        return f"{text} (default: {shown})" if text else f"default: {shown}"


def use_help_formatter(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and all its sub-command parsers :class:`HelpFormatter`."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                use_help_formatter(child)


# ------------------------------------------------------------------------------------ flag types

def output_file(text: str) -> str:
    """A file to write: not an existing directory; its folder need not exist yet."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected a file name, but {text!r} is a directory")
    return text


def output_dir(text: str) -> str:
    """A folder to write into (created): not an existing file."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected a directory, but {text!r} is a file")
    return text


def input_file(text: str) -> str:
    """An existing file to read."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file, but {text!r} is a directory")
    if not p.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def check_input_dir(text: str, name: str) -> str:
    """:func:`input_dir` inside a command (exit status 2 from :func:`icecore.cli.main`), naming ``name``."""
    try:
        return input_dir(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{name}: {exc}") from None


def check_input_file(text: str, name: str) -> str:
    """:func:`input_file` inside a command (exit status 2 from :func:`icecore.cli.main`), naming ``name``."""
    try:
        return input_file(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{name}: {exc}") from None


def input_dir(text: str) -> str:
    """An existing folder to read."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"expected a directory, but {text!r} is a file")
    if not p.exists():
        raise argparse.ArgumentTypeError(f"no such directory: {text!r}")
    return text


def suffixes(*allowed: str, check: Callable[[str], str] = output_file) -> Callable[[str], str]:
    """A flag type: ``check`` and the name must end in one of ``allowed`` (e.g. ``".npz", ".json"``)."""
    def _type(text: str) -> str:
        check(text)
        if Path(text).suffix.lower() not in allowed:
            raise argparse.ArgumentTypeError(f"expected a name ending in {' or '.join(allowed)}, got {text!r}")
        return text

    _type.__name__ = "file name"
    return _type


def _angle(text: str, lo: float, hi: float, what: str, *, closed: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} in degrees, got {text!r}") from None
    inside = lo <= value <= hi if closed else lo <= value < hi
    if not (math.isfinite(value) and inside):
        interval = f"[{lo:g}, {hi:g}]" if closed else f"[{lo:g}, {hi:g})"
        raise argparse.ArgumentTypeError(f"{what} must be in {interval} degrees, got {value:g}")
    return value


def ra_deg(text: str) -> float:
    """Right ascension in degrees, [0, 360)."""
    return _angle(text, 0.0, 360.0, "right ascension", closed=False)


def dec_deg(text: str) -> float:
    """Declination in degrees, [-90, 90]."""
    return _angle(text, -90.0, 90.0, "declination", closed=True)


def azimuth_deg(text: str) -> float:
    """Azimuth in degrees, [0, 360)."""
    return _angle(text, 0.0, 360.0, "azimuth", closed=False)


def require_plotting(flag: str) -> None:
    """Fail now (before any work) with a one-line error naming ``flag`` if matplotlib is missing."""
    from ._optional import available

    if not available("matplotlib"):
        raise ValueError(f"{flag} needs matplotlib: pip install matplotlib (or drop {flag})")


def kafka_client_config(bootstrap_servers: str | None, kafka_config: Iterable[str]) -> dict[str, Any]:
    """librdkafka settings of a listener CLI: ``--bootstrap-servers`` (no OAuth) and ``-X key=value``.

    Without a broker of its own the listener uses GCN, which needs GCN_CLIENT_ID and
    GCN_CLIENT_SECRET in the environment: their absence is an :class:`~icecore.errors.InputError`
    naming both and the flag, raised before any connection is made.
    """
    from .errors import InputError

    cfg: dict[str, Any] = {}
    if bootstrap_servers:
        cfg = {"bootstrap.servers": bootstrap_servers, "security.protocol": "plaintext"}
    cfg.update(parse_key_values(kafka_config, str, flag="-X"))
    if "bootstrap.servers" not in cfg and not (os.environ.get("GCN_CLIENT_ID") and os.environ.get("GCN_CLIENT_SECRET")):
        raise InputError("GCN credentials are needed: set GCN_CLIENT_ID and GCN_CLIENT_SECRET in the environment, "
                         "or give --bootstrap-servers HOST:PORT for another broker", "bootstrap_servers")
    return cfg
