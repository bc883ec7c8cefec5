"""Endpoints (wslab/_endpoint.py): hooks run in order, sync or async; one that raises is an error event."""

import asyncio


def test_hooks_run_sync_and_async_and_several_per_event(lab):
    seen: list[str] = []
    server = lab.serve()

    @server.on("message")
    def first(event):
        seen.append(f"sync {event.data}")

    @server.on("message")
    async def second(event):
        await asyncio.sleep(0)
        seen.append(f"async {event.data}")

    client = lab.connect(server, on={"close": lambda e: seen.append(f"close {e.code}")})
    client.send("hi")
    client.close()
    assert seen == ["sync hi", "async hi", "close 1000"]


def test_a_raising_hook_becomes_an_error_event_and_the_server_keeps_serving(lab):
    server = lab.serve()

    @server.on("message")
    def explode(event):
        raise RuntimeError("hook bug")

    client = lab.connect(server)
    client.send("one")
    client.send("two")
    errors = lab.events.filter(kind="error")
    assert len(errors) == 2
    assert errors[0].error == "hook explode for 'message' raised RuntimeError: hook bug"
    assert client.recv() == "Serveur a reçu : one"
    assert client.recv() == "Serveur a reçu : two"
