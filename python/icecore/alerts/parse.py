"""``parse``: recognise the format of a GCN IceCube notice and return a normalised :class:`Alert`.

Format detection lives here only; each format module (:mod:`.kafka_json`, :mod:`.voevent`,
:mod:`.classic`) parses the one format it is handed.
"""

from __future__ import annotations

import json
import logging
import struct
from typing import Any

from ..errors import ParseError
from .classic import BINARY_TYPES, parse_classic_binary, parse_classic_fields, parse_classic_text
from .kafka_json import parse_kafka_json
from .model import Alert
from .voevent import parse_voevent

__all__ = ["parse", "MAX_MESSAGE_BYTES"]

logger = logging.getLogger(__name__)

#: Largest message accepted (4 MiB); real notices are below 10 kB.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ParseError(f"JSON constant {name} (NaN/Infinity) is not allowed", "json")


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        b = bytes(data)
    elif isinstance(data, str):
        if len(data) > MAX_MESSAGE_BYTES:
            raise ParseError(f"message of {len(data)} characters exceeds the {MAX_MESSAGE_BYTES}-byte limit")
        b = data.encode("utf-8", errors="surrogatepass")
    else:
        raise ParseError(f"cannot parse a {type(data).__name__}; pass bytes, str or dict")
    if len(b) > MAX_MESSAGE_BYTES:
        raise ParseError(f"message of {len(b)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    return b


def parse(data: Any, *, topic: str | None = None, strict: bool = False) -> Alert:
    """Parse one IceCube notice in any GCN format into an :class:`Alert`.

    Parameters
    ----------
    data : bytes, str or dict
        Kafka JSON notice (text or already-decoded dict), VOEvent XML (v1.1/v2.0), GCN Classic
        text notice, or a 160-byte GCN Classic binary packet.
    topic : str, optional
        Kafka topic the message came from; recorded on the alert and used to reject a message
        that does not belong to it (e.g. an LVK search on the gold/bronze topic).
    strict : bool
        Raise instead of recording a warning when a notice contradicts itself (IVORN vs Params,
        TJD/SOD vs ISOTime, missing Dec sign...).

    Returns
    -------
    Alert
        Angles in degrees (J2000), energy in TeV, FAR per year, UTC times. No field is NaN:
        missing values are None.

    Raises
    ------
    icecore.errors.ParseError
        For anything malformed: undecodable bytes, truncated JSON/XML, wrong types, NaN or
        out-of-range coordinates, probabilities outside [0, 1], unknown notice types, messages
        over 4 MiB, DTD/entity declarations in XML. No other exception escapes.
    """
    if topic is not None and not isinstance(topic, str):
        raise ParseError(f"topic must be a string, got {type(topic).__name__}")
    try:
        alert = _dispatch(data, topic)
    except ParseError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise ParseError(f"message too deeply nested or too large ({type(exc).__name__})") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, struct.error) as exc:
        # A gap in a parser's own checks: still a ParseError for the caller, but logged loudly.
        logger.error("unexpected %s while parsing a notice: %s", type(exc).__name__, exc)
        raise ParseError(f"internal: unexpected {type(exc).__name__}: {exc}") from exc
    if strict and alert.warnings:
        raise ParseError("inconsistent notice: " + "; ".join(alert.warnings), alert.source_format)
    return alert


def _is_classic_dict(obj: Any) -> bool:
    """A classic text notice already split into a dict (hermes: lower-case keys, text values)."""
    return isinstance(obj, dict) and "src_ra" in obj and "notice_type" in obj


def _from_json_object(obj: Any, topic: str | None, raw: bytes) -> Alert:
    if _is_classic_dict(obj):
        fields = {str(k).upper(): v for k, v in obj.items()}
        return parse_classic_fields(fields, raw=raw, topic=topic, fmt="classic_text")
    return parse_kafka_json(obj, topic=topic, raw=raw)


def _dispatch(data: Any, topic: str | None) -> Alert:
    if isinstance(data, dict):
        try:
            raw = json.dumps(data, default=repr).encode("utf-8", "surrogatepass")
        except ValueError as exc:  # a circular reference, an int of > 4300 digits
            raise ParseError(f"dict cannot be serialised as a JSON notice: {exc}", "json") from None
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ParseError(f"message exceeds the {MAX_MESSAGE_BYTES}-byte limit")
        return _from_json_object(data, topic, raw)
    raw = _as_bytes(data)
    if len(raw) == 160 and struct.unpack(">i", raw[:4])[0] in BINARY_TYPES:
        return parse_classic_binary(raw, topic=topic)
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{" or head == b"[":
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON is not valid UTF-8 ({exc.reason} at byte {exc.start})", "json") from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "json") from None
        except ValueError as exc:  # e.g. an integer literal over Python's 4300-digit conversion limit
            raise ParseError(f"malformed JSON: {exc}", "json") from None
        return _from_json_object(obj, topic, raw)
    if head == b"<":
        return parse_voevent(raw, topic=topic)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("not JSON, XML, a classic text notice or a 160-byte IceCube packet") from None
    if "NOTICE_TYPE:" in text:
        return parse_classic_text(text, raw=raw, topic=topic)
    raise ParseError("not JSON, XML, a classic text notice or a 160-byte IceCube packet")
