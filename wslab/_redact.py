"""Masking secrets before they are recorded: what an event holds may be shown, exported or shared.

A lesson's event table, its diagrams and its JSON-lines export all read recorded events, so a
credential is masked once, when the event is made, and never reaches any of them: the values of
``Authorization``, ``Cookie`` and similar headers, and of ``token``-like query parameters.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "SECRET_QUERY",
    "redact_header",
    "redact_headers",
    "redact_http",
    "redact_url",
]

MASK = "***"

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Header names whose values are credentials (compared lowercase)."""

SECRET_QUERY = frozenset({"token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth"})
"""Query parameter names whose values are credentials (compared lowercase)."""


def redact_header(name: str, value: str) -> str:
    """The value to record for header ``name``: masked for credentials, keeping a ``Bearer`` scheme."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, space, _ = value.partition(" ")
    if space and name.lower().endswith("authorization") and scheme.isalpha():
        return f"{scheme} {MASK}"
    return MASK


def redact_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with every credential value masked."""
    return tuple((name, redact_header(name, value)) for name, value in headers)


def redact_url(url: str) -> str:
    """A URL or a request path (``/chat?token=s3cret``) with credential query values masked."""
    parts = urlsplit(url)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user.partition(':')[0]}:{MASK}@{host}")
    if not parts.query:
        return urlunsplit(parts)
    out = []
    for item in parts.query.split("&"):
        name, equals, _ = item.partition("=")
        if equals and unquote(name).lower() in SECRET_QUERY:
            item = f"{name}={MASK}"
        out.append(item)
    return urlunsplit(parts._replace(query="&".join(out)))


def redact_http(raw: bytes) -> bytes:
    """Raw HTTP head bytes (request or response) with credential headers and query values masked."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    first = lines[0].decode("latin-1").split(" ")
    if len(first) == 3 and first[2].startswith("HTTP/"):  # a request line: mask the path's secrets
        first[1] = redact_url(first[1])
    out = [" ".join(first).encode("latin-1")]
    for line in lines[1:]:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon and name.strip().lower() in SECRET_HEADERS:
            line = f"{name}: {redact_header(name.strip(), value.strip())}".encode("latin-1")
        out.append(line)
    return b"\r\n".join(out) + sep + body
