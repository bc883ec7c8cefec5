"""Hostile hooks, handlers and views: each failure becomes an event, and nothing else stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from _attack import wait_for

import wslab
from wslab import Event, Peer
from wslab.hooks import SLOW_HOOK

TIMEOUT = 3.0
SETTLE = 1.0


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name=f"hooks-{request.node.name}")
    yield lab
    lab.close()


def echoes(client: wslab.Client, text: str) -> bool:
    client.send(text)
    return client.recv() == f"Serveur a reçu : {text}"


def test_a_hook_that_raises_becomes_an_error_event_and_the_server_keeps_serving(lab: wslab.Lab) -> None:
    server = lab.serve()

    @server.on("message")
    def explode(event: Event) -> None:
        raise RuntimeError(f"cannot handle {event.data!r}")

    client = lab.connect(server)
    assert echoes(client, "one")
    assert echoes(client, "two")
    errors = lab.events.filter(side="server", kind="error")
    assert [e.error for e in errors] == [
        f"hook explode for 'message' raised RuntimeError: cannot handle {text!r}" for text in ("one", "two")
    ]
    assert all(isinstance(e.exc, RuntimeError) for e in errors)
    assert client.state is wslab.State.OPEN


def test_a_failing_error_hook_is_reported_once_and_does_not_loop(lab: wslab.Lab) -> None:
    server = lab.serve()
    seen: list[str] = []

    def explode(event: Event) -> None:
        raise ValueError("first")

    def explode_again(event: Event) -> None:
        seen.append(event.error or "")
        raise ValueError("second")

    server.on("message", explode)
    server.on("error", explode_again)
    client = lab.connect(server)
    assert echoes(client, "x")
    errors = [e.error or "" for e in lab.events.filter(kind="error")]
    assert len(errors) == 2 and "raised ValueError: first" in errors[0] and "for 'error'" in errors[1]
    assert len(seen) == 1


def test_a_client_hook_that_raises_leaves_the_client_receiving(lab: wslab.Lab) -> None:
    server = lab.serve()
    client = lab.connect(server, on={"message": lambda event: 1 / 0})  # type: ignore[dict-item]
    assert echoes(client, "still here")
    errors = lab.events.filter(side="client", kind="error")
    assert len(errors) == 1 and "ZeroDivisionError" in (errors[0].error or "")


def test_a_hook_that_blocks_for_seconds_is_reported_and_nothing_deadlocks(lab: wslab.Lab) -> None:
    server = lab.serve()
    blocked = SLOW_HOOK + 0.7

    @server.on("message")
    def slow(event: Event) -> None:
        if event.data == "slow":
            time.sleep(blocked)  # blocks the lab's loop: every connection waits

    first, second = lab.connect(server), lab.connect(server)
    started = time.monotonic()
    assert echoes(first, "slow")
    assert time.monotonic() - started < blocked + TIMEOUT
    assert echoes(second, "fast")
    notes = lab.events.filter(side="server", kind="note")
    assert len(notes) == 1
    assert f"took {blocked:.1f} s and blocked the lab's loop" in (notes[0].detail or "")


def test_an_async_hook_that_awaits_does_not_block_the_other_clients(lab: wslab.Lab) -> None:
    server = lab.serve()
    release = asyncio.Event()

    @server.on("message")
    async def waits(event: Event) -> None:
        if event.data == "wait":
            async with asyncio.timeout(SETTLE * 2):
                await release.wait()

    waiting, other = lab.connect(server), lab.connect(server)
    waiting.send("wait", timeout=SETTLE * 3)  # returns after the hook's bounded wait
    assert echoes(other, "meanwhile")
    assert waiting.recv() == "Serveur a reçu : wait"
    assert any("TimeoutError" in (e.error or "") for e in lab.events.filter(kind="error"))


def test_a_hook_that_calls_a_blocking_method_gets_a_loop_error_not_a_deadlock(lab: wslab.Lab) -> None:
    server = lab.serve()
    client = lab.connect(server)

    @server.on("message")
    def reenter(event: Event) -> None:
        if event.data == "reenter":
            client.send("from inside")

    started = time.monotonic()
    assert echoes(client, "reenter")
    assert time.monotonic() - started < TIMEOUT
    errors = lab.events.filter(kind="error")
    assert len(errors) == 1 and "LoopError" in (errors[0].error or "")
    assert "cannot be called from inside the lab's event loop" in (errors[0].error or "")


def test_a_handler_that_raises_closes_only_its_connection_with_1011(lab: wslab.Lab) -> None:
    def handler(message: str | bytes, peer: Peer) -> str:
        if message == "crash":
            raise KeyError("no such room")
        return f"ok {message}"

    server = lab.serve(handler)
    victim, bystander = lab.connect(server), lab.connect(server)
    victim.send("crash")
    assert wait_for(lambda: victim.close_code is not None, TIMEOUT)
    assert victim.close_code == 1011
    bystander.send("hi")
    assert bystander.recv() == "ok hi"
    error = lab.events.filter(side="server", kind="error", conn=victim.conn)[0]
    assert error.error == "handler raised KeyError: 'no such room'"


def test_a_handler_that_never_returns_blocks_only_its_client_and_close_is_bounded(lab: wslab.Lab) -> None:
    async def handler(message: str | bytes, peer: Peer) -> str:
        if message == "hang":
            await asyncio.Event().wait()  # never set
        return f"ok {message}"

    server = lab.serve(handler)
    stuck, other = lab.connect(server), lab.connect(server)
    started = time.monotonic()
    stuck.send("hang")  # returns when the settle wait gives up
    assert time.monotonic() - started < SETTLE + 1.0
    other.send("hi")
    assert other.recv() == "ok hi"
    started = time.monotonic()
    lab.close()
    took = time.monotonic() - started
    assert took < TIMEOUT + SETTLE, f"lab.close() took {took:.1f} s"
    notes = lab.events.filter(side="server", kind="note")
    assert any("did not finish within" in (n.detail or "") for n in notes)
    assert lab.events.filter(side="server", kind="close", conn=stuck.conn), (
        "the stuck connection never closed"
    )


def test_a_view_that_raises_is_counted_and_recording_goes_on(lab: wslab.Lab) -> None:
    def broken_view(event: Event) -> None:
        raise RuntimeError("widget gone")

    unsubscribe = lab.recorder.subscribe(broken_view)
    server = lab.serve()
    client = lab.connect(server)
    assert echoes(client, "x")
    events = lab.events
    assert lab.recorder.subscriber_errors == len(events) > 0
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    unsubscribe()
    assert "<table" in events.to_html() and "Serveur a reçu" in events.to_text()
