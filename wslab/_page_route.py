"""How the notebook page reaches a server in the kernel: directly on loopback, or through the proxy.

:func:`page_route` is the one place in Python that decides it; the page's half is ``pageTargets``
in wslab/js/browser.js, which may still switch a direct route to its proxy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from .i18n import _

__all__ = ["Listening", "Route", "page_route"]


class Listening(Protocol):
    """What a route needs of a server or a wire: where it listens."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class Route:
    """How the page reaches a server in the kernel.

    ``kind`` is ``"direct"`` (``url`` on 127.0.0.1, for a page on the kernel's machine),
    ``"proxy"`` (through jupyter-server-proxy: ``proxy`` is the address under the notebook server's
    base URL, ``<base>proxy/<port>/<path>``) or ``"none"`` (``why`` says what is missing). A direct
    route also carries its ``proxy``: the page takes it when it is not on loopback, when a hub
    serves it, or when the direct socket fails. ``base`` is the base URL the kernel knows (from
    ``JUPYTERHUB_SERVICE_PREFIX``); the page prefers its own (``#jupyter-config-data``).
    """

    kind: Literal["direct", "proxy", "none"]
    url: str = ""
    path: str = ""
    why: str = ""
    proxy: str = ""
    base: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "url": self.url,
            "path": self.path,
            "why": self.why,
            "proxy": self.proxy,
            "base": self.base,
        }

    def words(self) -> str:
        """The route without its port, for text a lesson shows."""
        if self.kind == "direct":
            return _("direct: the page opens {url}").format(url=f"ws://127.0.0.1:<port>{self.path}")
        if self.kind == "proxy":
            url = f"<notebook server>{self.base or '/'}proxy/<port>{self.path}"
            return _("proxy: the page opens {url}").format(url=url)
        return f"none: {self.why}"


def page_route(server: Listening, path: str, env: Mapping[str, str] | None = None) -> Route:
    """The route from the notebook page to ``server``, for a connection on ``path``.

    The one place in Python that decides it (the page may still switch a direct route to its proxy,
    see ``pageTargets`` in wslab/js/browser.js). Under JupyterHub (``JUPYTERHUB_SERVICE_PREFIX`` is
    set) the page comes from the hub's host, not the kernel's machine: loopback is out of reach, so
    the route goes through the notebook server's proxy. The address is derived, never typed.
    """
    env = os.environ if env is None else env
    if not path.startswith("/"):
        raise ValueError(f"a page path starts with '/': {path!r}")
    proxy = f"proxy/{server.port}{path}"
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "").strip("/")
    if prefix:
        return Route("proxy", path=path, proxy=proxy, base=f"/{prefix}/")
    host = server.host if ":" not in server.host else f"[{server.host}]"
    return Route("direct", url=f"ws://{host}:{server.port}{path}", path=path, proxy=proxy)
