"""The route from the notebook page to a server in the kernel, the Python half (wslab/_page_route.py).

It decides from the kernel's environment (a JupyterHub prefix); the page's half, ``pageTargets`` in
wslab/js/browser.js, is tested under node in tests/test_browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest

import wslab
from wslab._page_route import Route, page_route


@pytest.fixture
def server() -> Any:
    lab = wslab.Lab(clock="logical")
    try:
        yield lab.serve()
    finally:
        lab.close()


def test_a_kernel_outside_a_hub_routes_the_page_directly_with_the_proxy_as_fallback(server: Any) -> None:
    route = page_route(server, "/browser", env={})
    assert route.kind == "direct"
    assert route.url == f"ws://127.0.0.1:{server.port}/browser"
    assert route.proxy == f"proxy/{server.port}/browser"
    assert route.base == ""


def test_a_kernel_under_a_hub_routes_the_page_through_the_proxy_under_its_prefix(server: Any) -> None:
    route = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert route.kind == "proxy"
    assert route.url == ""  # no loopback address for a page that is not on this machine
    assert route.proxy == f"proxy/{server.port}/browser"
    assert route.base == "/user/ada/"


@pytest.mark.parametrize("prefix", ["/user/ada", "user/ada/", "/user/ada/"])
def test_the_hub_prefix_is_normalised_to_one_leading_and_one_trailing_slash(server: Any, prefix: str) -> None:
    assert page_route(server, "/b", env={"JUPYTERHUB_SERVICE_PREFIX": prefix}).base == "/user/ada/"


def test_an_empty_hub_prefix_is_not_a_hub(server: Any) -> None:
    assert page_route(server, "/b", env={"JUPYTERHUB_SERVICE_PREFIX": ""}).kind == "direct"


def test_a_page_path_must_start_with_a_slash(server: Any) -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        page_route(server, "browser", env={})


def test_the_route_words_never_show_the_port(server: Any) -> None:
    direct = page_route(server, "/browser", env={}).words()
    proxied = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}).words()
    assert direct == "direct: the page opens ws://127.0.0.1:<port>/browser"
    assert proxied == "proxy: the page opens <notebook server>/user/ada/proxy/<port>/browser"
    assert str(server.port) not in direct + proxied


def test_the_route_sent_to_the_page_holds_every_field(server: Any) -> None:
    route = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert Route(**route.to_dict()) == route  # type: ignore[arg-type]
