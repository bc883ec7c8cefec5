"""Fidelity: wslab's event sequences against a real Chromium page, the Node `ws` client and server.

Every scenario runs once per session (all systems against the same scripted puppet, see ``puppet.py``);
the tests then compare. A mismatch that ``KNOWN_DIFFERENCES`` does not list fails: it is either a bug
in wslab or a difference that needs its reason written down. ``docs/fidelity.md`` must be what this
run generates (``python -m tests.fidelity.report`` rewrites it).
"""

from __future__ import annotations

import re

import pytest

from .report import DOC, GENERATE, Results, behaviour, collect, render, without_clean
from .scenarios import CLIENT_SCENARIOS, KNOWN_DIFFERENCES, SERVER_SCENARIOS

pytestmark = pytest.mark.fidelity


def _id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


CLIENTS = pytest.mark.parametrize(
    "name", [s.name for s in CLIENT_SCENARIOS], ids=[_id(s.name) for s in CLIENT_SCENARIOS]
)
SERVERS = pytest.mark.parametrize(
    "name", [s.name for s in SERVER_SCENARIOS], ids=[_id(s.name) for s in SERVER_SCENARIOS]
)


@pytest.fixture(scope="module")
def results() -> Results:
    return collect()


def _need(results: Results, *systems: str) -> None:
    for system in systems:
        if system in results.missing:
            pytest.skip(f"{system}: {results.missing[system]}")


@CLIENTS
def test_the_puppet_server_is_sane_chromium_and_node_agree(results: Results, name: str) -> None:
    _need(results, "chromium", "node")
    seen = results.clients[name]
    assert without_clean(seen["chromium"].events) == without_clean(seen["node"].events)


@CLIENTS
def test_the_wslab_client_fires_what_chromium_fires(results: Results, name: str) -> None:
    _need(results, "chromium")
    seen = results.clients[name]
    if f"client: {name}" in KNOWN_DIFFERENCES:
        assert seen["wslab"].events != seen["chromium"].events, "listed as a difference but now equal"
        return
    assert seen["wslab"].events == seen["chromium"].events


@SERVERS
def test_the_wslab_server_fires_what_the_node_ws_server_fires(results: Results, name: str) -> None:
    _need(results, "node")
    seen = results.servers[name]
    if f"server: {name}" in KNOWN_DIFFERENCES:
        assert seen["wslab"].events != seen["node"].events, "listed as a difference but now equal"
        return
    assert seen["wslab"].events == seen["node"].events


def test_every_listed_difference_names_a_scenario() -> None:
    names = {f"client: {s.name}" for s in CLIENT_SCENARIOS} | {f"server: {s.name}" for s in SERVER_SCENARIOS}
    assert set(KNOWN_DIFFERENCES) <= names


def test_docs_fidelity_md_is_what_this_run_generates(results: Results) -> None:
    _need(results, "chromium", "node")
    assert DOC.exists(), f"run `{GENERATE}`"
    committed, fresh = DOC.read_text(encoding="utf-8"), render(results)
    assert behaviour(committed) == behaviour(fresh), f"docs/fidelity.md is stale: run `{GENERATE}`"
