"""Masking secrets before they are recorded: what an event holds may be shown, exported or shared.

A lesson's event table, its diagrams and its JSON-lines export all read recorded events, so a
credential is masked once, when the event is made, and never reaches any of them: the values of
``Authorization``, ``Cookie`` and similar headers, and of ``token``-like query parameters.

Behind JupyterHub or jupyter-server-proxy every handshake carries the hub's cookies, often an
``_xsrf`` value, sometimes ``X-XSRFToken`` or a ``Referer`` with ``?token=``: names are matched by
what they contain (``token``, ``xsrf``, ``session``…), not only by an exact list, and headers
whose value is a URL have that URL's credentials masked.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "SECRET_PARTS",
    "SECRET_QUERY",
    "URL_HEADERS",
    "is_secret_header",
    "is_secret_query",
    "redact_header",
    "redact_headers",
    "redact_http",
    "redact_text",
    "redact_url",
]

MASK = "***"

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Header names whose values are credentials (compared lowercase)."""

SECRET_QUERY = frozenset({"token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth"})
"""Query parameter names whose values are credentials (compared lowercase)."""

SECRET_PARTS = ("token", "secret", "passw", "xsrf", "csrf", "jwt", "session", "apikey", "api_key", "api-key")
"""A header or query name holding one of these (lowercase) is a credential too: ``X-XSRFToken``,
``X-Auth-Token``, ``X-Api-Key``, ``_xsrf``, ``jupyterhub-session-id``, ``refresh_token``."""

URL_HEADERS = frozenset({"referer", "origin", "location", "content-location"})
"""Header names whose value is a URL: recorded with :func:`redact_url`."""


def is_secret_header(name: str) -> bool:
    """Whether header ``name``'s value is a credential (``Sec-WebSocket-Key`` is not: a nonce)."""
    lower = name.strip().lower()
    return lower in SECRET_HEADERS or lower.startswith("x-auth") or any(p in lower for p in SECRET_PARTS)


def is_secret_query(name: str) -> bool:
    """Whether query parameter ``name`` (already unquoted) holds a credential."""
    lower = name.lower()
    return lower in SECRET_QUERY or any(p in lower for p in SECRET_PARTS)


def redact_header(name: str, value: str) -> str:
    """The value to record for header ``name``: masked for credentials, keeping a ``Bearer`` scheme."""
    if name.strip().lower() in URL_HEADERS:
        return redact_url(value)
    if not is_secret_header(name):
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
        if equals and is_secret_query(unquote(name)):
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
        if colon and (is_secret_header(name) or name.strip().lower() in URL_HEADERS):
            line = f"{name}: {redact_header(name.strip(), value.strip())}".encode("latin-1")
        out.append(line)
    return b"\r\n".join(out) + sep + body


_QUERY_ITEM = r"([?&;])([^=&;\s?#'\"]+)=([^&;\s#'\"]*)"  # re caches it (no re.compile: see test_security)
_USERINFO = r"(://[^/\s:@'\"]+):([^@\s/'\"]+)@"


def redact_text(text: str) -> str:
    """Free text (an error message, a detail) with any URL's credential query values and password masked.

    For words built by others, such as an exception's message quoting the address it failed on.
    """
    if "=" not in text and "@" not in text:
        return text

    def item(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={MASK}" if value and is_secret_query(unquote(name)) else match.group(0)

    return re.sub(_USERINFO, rf"\1:{MASK}@", re.sub(_QUERY_ITEM, item, text))
