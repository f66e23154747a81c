"""Security of the HTTP API: write tokens, request size limits, file-system confinement.

- :func:`check_token`: write endpoints need ``Authorization: Bearer <token>`` with one of the
  configured tokens (constant-time comparison; the token itself is never logged or stored:
  the database keeps only a short SHA-256 prefix to tell submitters apart).
- :class:`BodySizeLimit`: an ASGI middleware that answers 413 when ``Content-Length`` exceeds
  the limit and stops reading a body (chunked or lying about its length) as soon as it passes it.
- :func:`safe_path`: a file under the data directory from API-supplied parts; anything that
  would resolve elsewhere (``..``, absolute paths, symlinks pointing out) raises
  :class:`PathOutsideError`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["check_token", "token_id", "BodySizeLimit", "safe_path", "PathOutsideError", "TokenError"]


class TokenError(PermissionError):
    """Missing or wrong write token."""


class PathOutsideError(InputError):
    """A requested path would leave the service's data directory."""


def token_id(token: str) -> str:
    """A short, non-reversible id of a token (for the records)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def check_token(authorization: str | None, tokens: Iterable[str]) -> str:
    """The id of the token in an ``Authorization`` header value, or :class:`TokenError`.

    Every configured token is compared (constant time), so the timing does not reveal which
    one matched or how much of a wrong token was right.
    """
    allowed = list(tokens)
    if not allowed:
        raise TokenError("this service accepts no writes (no token configured)")
    if not authorization or not authorization.startswith("Bearer "):
        raise TokenError("a write token is required: 'Authorization: Bearer <token>'")
    given = authorization[len("Bearer "):].strip().encode("utf-8")
    ok = False
    for t in allowed:
        ok |= hmac.compare_digest(given, t.encode("utf-8"))
    if not ok:
        raise TokenError("invalid token")
    return token_id(given.decode("utf-8"))


def safe_path(root: str | Path, *parts: str) -> Path:
    """``root/part/...`` resolved, guaranteed inside ``root`` (which must exist)."""
    base = Path(root).resolve()
    for p in parts:
        if not isinstance(p, str) or not p or "\x00" in p or p.startswith(("/", "\\")) or ":" in p:
            raise PathOutsideError(f"argument 'path': {p!r} is not a relative name", "path")
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise PathOutsideError("argument 'path': outside the service's data directory", "path")
    return target


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodySizeLimit:
    """ASGI middleware: refuse request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    n = self.max_bytes + 1
                if n > self.max_bytes:
                    await self._reject(send)
                    return
        # read the body first (at most max_bytes are held), then hand it to the app in one piece
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
