"""The lab end to end on loopback: the seed's exchange, closes, errors, hooks, several clients."""

import asyncio
import os
import threading

import pytest

import wslab
from wslab import ConnectionFailed, Lab, LoopError, NotConnected, WslabTimeout

SEED_ORDER = [
    "client:connecting",
    "server:upgrade",
    "server:accept",
    "server:connection",
    "client:open",
    "server:send",
    "client:message",
    "client:send",
    "server:message",
    "server:send",
    "client:message",
    "client:closing",
    "server:close",
    "client:close",
]


def seed_exchange(lab: Lab) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    client = lab.connect(server)
    client.send("Bonjour serveur!")
    client.close()


def test_the_seed_exchange_records_all_eight_events_in_order(lab):
    seed_exchange(lab)
    events = lab.events
    assert events.kinds() == SEED_ORDER
    client_kinds = {e.kind for e in events.filter(side="client")}
    server_kinds = {e.kind for e in events.filter(side="server")}
    assert {"open", "message", "close"} <= client_kinds
    assert {"connection", "message", "close"} <= server_kinds
    assert [e.conn for e in events] == ["c1"] * len(SEED_ORDER)


def test_the_seed_exchange_carries_the_seed_data(lab):
    seed_exchange(lab)
    messages = lab.events.filter(kind="message")
    assert [(e.side, e.data) for e in messages] == [
        ("client", "Bienvenue sur le serveur WebSocket"),
        ("server", "Bonjour serveur!"),
        ("client", "Serveur a reçu : Bonjour serveur!"),
    ]
    assert messages[1].size == 16
    assert messages[2].size == len("Serveur a reçu : Bonjour serveur!".encode())
    closes = lab.events.filter(kind="close")
    assert [(e.side, e.code, e.initiator) for e in closes] == [
        ("server", 1000, "client"),
        ("client", 1000, "client"),
    ]


def test_the_upgrade_and_101_carry_their_headers(lab):
    server = lab.serve()
    lab.connect(server)
    upgrade = lab.events.filter(kind="upgrade")[0]
    accept = lab.events.filter(kind="accept")[0]
    request_headers = {k.lower(): v for k, v in upgrade.headers or ()}
    response_headers = {k.lower(): v for k, v in accept.headers or ()}
    assert upgrade.detail == "GET / HTTP/1.1"
    assert request_headers["upgrade"] == "websocket"
    assert "sec-websocket-key" in request_headers
    assert accept.detail == "101 Switching Protocols"
    assert "sec-websocket-accept" in response_headers


def test_the_same_cells_give_the_same_table_every_run():
    def run() -> str:
        with Lab(clock="logical", name="determinism") as lab:
            seed_exchange(lab)
            return lab.events.to_text()

    assert run() == run()


def test_recv_returns_messages_in_order_and_times_out_clearly(lab):
    client = lab.connect(lab.serve(welcome="hi"))
    client.send("a")
    assert client.recv() == "hi"
    assert client.recv() == "Serveur a reçu : a"
    with pytest.raises(WslabTimeout, match=r"no message arrived within 0\.2 s"):
        client.recv(timeout=0.2)


def test_binary_messages_echo_as_bytes(lab):
    client = lab.connect(lab.serve())
    client.send(b"\x00\x01")
    assert client.recv() == b"\x00\x01"
    assert lab.events.filter(side="server", kind="message")[0].is_binary


def test_client_closes_with_a_code_and_reason_the_server_sees(lab):
    server = lab.serve()
    client = lab.connect(server)
    client.close(4000, "done here")
    server_close = lab.events.filter(side="server", kind="close")[0]
    assert (server_close.code, server_close.reason, server_close.initiator) == (4000, "done here", "client")
    assert client.state is wslab.State.CLOSED
    with pytest.raises(NotConnected):
        client.send("too late")


def test_server_closes_one_connection_with_a_code_the_client_sees(lab):
    async def close_on_message(message, peer):
        await peer.close(4001, "bye from server")

    client = lab.connect(lab.serve(close_on_message))
    client.send("please close")
    lab.settle()
    client_close = lab.events.filter(side="client", kind="close")[0]
    assert (client_close.code, client_close.reason, client_close.initiator) == (
        4001,
        "bye from server",
        "server",
    )


def test_an_exception_in_the_server_handler_closes_with_1011(lab):
    def broken(message, peer):
        raise ValueError("bad input")

    client = lab.connect(lab.serve(broken))
    client.send("x")
    lab.settle()
    error = lab.events.filter(side="server", kind="error")[0]
    assert error.error == "handler raised ValueError: bad input"
    assert isinstance(error.exc, ValueError)
    assert lab.events.filter(side="client", kind="close")[0].code == 1011


def test_a_refused_connection_gives_error_then_close_1006_like_a_browser(lab):
    server = lab.serve()
    url = server.url
    server.close()
    with pytest.raises(ConnectionFailed, match="connection refused"):
        lab.connect(url)
    tail = lab.events.filter(who="client")
    assert tail.kinds() == ["client:connecting", "client:error", "client:close"]
    assert tail[-1].code == 1006


def test_a_rejected_handshake_is_an_error_on_the_client_and_a_reject_on_the_server(lab):
    server = lab.serve(origins=["https://school.example"])
    with pytest.raises(ConnectionFailed, match="HTTP 403"):
        lab.connect(server)
    assert lab.events.filter(side="server", kind="reject")[0].code == 403
    assert lab.events.filter(side="client", kind="close")[0].code == 1006


def test_two_clients_get_their_own_connection_ids_and_broadcast_reaches_both(lab):
    server = lab.serve(echo=None)
    alice = lab.connect(server, name="alice")
    bob = lab.connect(server)
    assert (alice.conn, bob.conn, bob.name) == ("c1", "c2", "client")
    assert server.broadcast("hello all") == 2
    assert alice.recv() == bob.recv() == "hello all"
    assert [p.id for p in server.connections] == ["c1", "c2"]


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


def test_unknown_hook_kinds_are_refused(lab):
    server = lab.serve()
    with pytest.raises(ValueError, match="unknown event kind 'mesage'"):
        server.on("mesage", print)  # type: ignore[arg-type]


def test_a_blocking_call_from_inside_the_loop_is_refused(lab):
    client = lab.connect(lab.serve())
    caught: list[BaseException] = []

    def hook(event):
        try:
            client.send("from inside")
        except LoopError as exc:
            caught.append(exc)

    client.on("message", hook)
    client.send("go")
    assert len(caught) == 1
    assert "use 'await ….asend()' there instead" in str(caught[0])


def test_async_twins_work_under_asyncio_run():
    async def main() -> list[str]:
        async with Lab(clock="logical", name="async") as lab:
            server = await lab.aserve()
            client = await lab.aconnect(server)
            await client.asend("async hi")
            reply = await client.arecv()
            await client.aclose()
            return [reply, *lab.events.kinds()[-2:]]

    assert asyncio.run(main()) == ["Serveur a reçu : async hi", "server:close", "client:close"]


def test_blocking_calls_work_inside_a_running_loop_like_a_kernel_cell():
    async def cell() -> str:
        with Lab(clock="logical", name="kernel-like") as lab:
            client = lab.connect(lab.serve())
            client.send("sync in a running loop")
            return client.recv()

    assert asyncio.run(cell()) == "Serveur a reçu : sync in a running loop"


def test_a_new_lab_with_the_same_name_closes_the_old_one():
    first = Lab(name="rerun")
    first.connect(first.serve())
    second = Lab(name="rerun")
    try:
        assert first.closed and not second.closed
        second.connect(second.serve())
    finally:
        second.close()


def test_close_leaves_no_thread_task_or_socket_behind():
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    lab = Lab(name="leaks")
    server = lab.serve(welcome="hi")
    clients = [lab.connect(server) for _ in range(3)]
    clients[0].send("x")
    clients[1].close()
    loop = lab._loop.loop
    lab.close()
    lab.close()  # twice is fine
    assert loop.is_closed()
    assert set(threading.enumerate()) == threads_before
    assert open_fds() == fds_before
    with pytest.raises(wslab.WslabError, match="this lab is closed"):
        lab.serve()


def test_lab_close_closes_open_connections_with_1001(lab):
    server = lab.serve()
    lab.connect(server)
    lab.close()
    closes = lab.events.filter(kind="close")
    assert sorted((e.side, e.code) for e in closes) == [("client", 1001), ("server", 1001)]
