"""Opening a client connection: the TCP socket, what the 101 agreed on, and why an attempt failed.

The words follow the browser's rule (WHATWG): a failed attempt is ``error`` then ``close`` 1006,
and a page learns nothing more; the lab keeps websockets' cause in the words, and says when it is
something a page could not have seen.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus, NegotiationError

from ._fds import RUN_OUT, out_of_fds
from .i18n import _

__all__ = ["check_subprotocol", "failure_words", "negotiated", "open_socket"]


def check_subprotocol(ws: ClientConnection, asked: Sequence[str] | None) -> None:
    """A browser and Node's ``ws`` fail the connection when a 101 names none of the asked subprotocols."""
    if asked and ws.subprotocol is None:
        wanted = ", ".join(str(one) for one in asked)
        words = _("asked for subprotocol {wanted}, the server's 101 named none").format(wanted=wanted)
        raise NegotiationError(words)


def negotiated(ws: ClientConnection) -> str | None:
    """What the handshake agreed on besides the defaults: ``permessage-deflate``, a subprotocol."""
    words = [str(ext.name) for ext in ws.protocol.extensions]
    if ws.subprotocol:
        words.append(_("subprotocol {name}").format(name=ws.subprotocol))
    return ", ".join(words) or None


async def open_socket(host: str, port: int) -> socket.socket:
    """Open the TCP connection ourselves, so the lab knows the local port before the handshake."""
    loop = asyncio.get_running_loop()
    try:  # a numeric address needs no resolver: skip the executor thread getaddrinfo would use
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot resolve {host}")


def failure_words(exc: BaseException, target: str, open_timeout: float | None) -> str:
    """Why reaching ``target`` failed, with websockets' cause; what a page cannot see is said so."""
    if isinstance(exc, ConnectionRefusedError):
        return _("connection refused: nothing listens at {target}, no TCP connection was made").format(
            target=target
        )
    if isinstance(exc, InvalidStatus):
        status = f"{exc.response.status_code} {exc.response.reason_phrase}".strip()
        return _(
            "the server answered HTTP {status}, not 101 Switching Protocols "
            "(a page sees only error and close 1006: the status is hidden from it)"
        ).format(status=status)
    if isinstance(exc, OSError) and exc.errno in RUN_OUT:
        return exc.strerror if exc.strerror and "open files:" in exc.strerror else out_of_fds()
    if isinstance(exc, TimeoutError):
        return _("opening handshake timed out after {seconds} s").format(seconds=open_timeout)
    if isinstance(exc, NegotiationError):
        return _("{problem}: a browser fails the connection here").format(problem=exc)
    cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
    if isinstance(exc, InvalidHandshake):
        return _("the opening handshake failed: {problem}").format(problem=exc) + cause
    return _("could not connect to {target}: {problem}").format(target=target, problem=exc) + cause
