"""The wire's relay (wslab/wire/relay.py): pass-through, one event per frame, the state table."""

import base64
import os
import socket

from _helpers import frames, tap

from wslab import State


def test_pass_through_is_byte_exact_in_both_directions(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    c2s_sent, c2s_seen = tap(client, server.connections[0])
    s2c_sent, s2c_seen = tap(server.connections[0], client)  # the same trick the other way round
    for message in ["Bonjour", "é" * 200, b"\x00\xff" * 40_000, "x" * 70_000]:
        client.send(message)
    client.close()
    assert b"".join(c2s_sent) == b"".join(c2s_seen) != b""
    assert b"".join(s2c_sent) == b"".join(s2c_seen) != b""
    assert [client.inbox.popleft() for _ in range(4)][2] == b"\x00\xff" * 40_000


def test_each_frame_is_one_event_with_direction_masking_and_payload(lab):
    server = lab.serve(welcome="Bienvenue")
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    client.send("Bonjour")
    welcome, hello, echo = frames(lab)
    assert welcome.frame.direction == "server→client" and not welcome.frame.masked
    assert welcome.frame.mask_key is None and welcome.peer == "client"
    assert hello.frame.direction == "client→server" and hello.peer == "server"
    assert hello.frame.masked and len(hello.frame.mask_key) == 8
    assert (hello.frame.opcode, hello.frame.fin, hello.frame.length) == ("TEXT", True, 7)
    assert hello.data == "Bonjour" and hello.size == 7 and hello.detail is None
    assert echo.data == "Serveur a reçu : Bonjour"
    assert {e.conn for e in lab.events} == {client.conn}  # one id on the client, the wire and the server
    assert server.connections[0].name == "client"  # the server's peer is the client, not the wire


def test_close_frames_carry_their_code_and_reason(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    client.close(4000, "bye")
    closes = frames(lab).filter(kind="frame")
    assert [(e.frame.opcode, e.code, e.reason) for e in closes] == [("CLOSE", 4000, "bye")] * 2
    assert [e.frame.direction for e in closes] == ["client→server", "server→client"]
    assert (client.close_code, server.registry[0].close_code) == (4000, 4000)


def test_compressed_frames_show_rsv1_the_compressed_length_and_the_message_as_the_peer_sees_it(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)  # permessage-deflate is on by default
    client.send("a" * 1000)
    client.send("a" * 1000)
    first, _, second, _ = frames(lab)
    assert first.frame.rsv1 and first.frame.length < 1000 and first.size == 1000 and first.data == "a" * 1000
    assert second.frame.length < first.frame.length  # context takeover: the second costs even less
    assert client.recv() == "Serveur a reçu : " + "a" * 1000


def test_several_clients_share_one_wire_and_keep_their_own_ids(lab):
    server = lab.serve()
    wire = lab.wire(server)
    one, two = lab.connect(wire), lab.connect(wire)
    wire.hold("client→server")
    two.send("deux")
    one.send("un")
    assert [h.arrow for h in wire.pending] == ["client2→server", "client→server"]
    assert [h.direction for h in wire.pending] == ["client→server"] * 2
    assert [e.peer for e in frames(lab)[-2:]] == ["server"] * 2
    wire.release()
    assert (one.recv(), two.recv()) == ("Serveur a reçu : un", "Serveur a reçu : deux")
    assert [p.name for p in server.registry] == ["client", "client2"]
    assert {e.conn for e in frames(lab)} == {one.conn, two.conn}
    wire.cut(two.conn)
    assert two.state is State.CLOSED and one.state is State.OPEN


def test_a_stream_the_parser_rejects_is_passed_on_and_recorded_never_fatal(lab):
    server = lab.serve()
    wire = lab.wire(server)
    with socket.create_connection(("127.0.0.1", wire.port), timeout=3) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(
            f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert raw.recv(4096).startswith(b"HTTP/1.1 101")
        raw.sendall(b"\x81\x02hi")  # an unmasked client frame
        answer = raw.recv(4096)
    assert answer[:2] == b"\x88\x13" and answer[2:4] == (1002).to_bytes(2, "big")
    assert "cannot parse" in lab.events.filter(side="wire", kind="error")[0].error
    client = lab.connect(wire)  # the wire still works
    client.send("ok")
    assert client.recv() == "Serveur a reçu : ok"


def test_frame_hooks_see_every_frame_as_it_crosses(lab):
    server = lab.serve()
    wire = lab.wire(server)
    seen = []
    wire.on("frame", lambda event: seen.append((event.frame.direction, event.data)))
    client = lab.connect(wire)
    client.send("vu")
    assert seen == [("client→server", "vu"), ("server→client", "Serveur a reçu : vu")]


def test_a_fragmented_message_is_one_frame_per_fragment_and_one_message(lab):
    import asyncio

    from websockets.asyncio.client import connect

    server = lab.serve()
    wire = lab.wire(server)

    async def fragmented() -> str:
        async with connect(wire.url, compression=None) as ws:
            await ws.send(["Bon", "jour", " !"])
            return str(await ws.recv())

    assert asyncio.run(fragmented()) == "Serveur a reçu : Bonjour !"
    parts = frames(lab)[:4]
    assert [(e.frame.opcode, e.frame.fin, e.data) for e in parts] == [
        ("TEXT", False, "Bon"),
        ("CONT", False, "jour"),
        ("CONT", False, " !"),
        ("CONT", True, ""),  # websockets learns the message ended after the last fragment
    ]
    assert parts[0].conn == lab.events.filter(side="server", kind="message")[0].conn


def test_the_state_table_has_one_row_per_direction_and_counts_what_is_held(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold("client→server")
    client.send("Bonjour")
    rows = wire.table()
    assert [(r["conn"], r["direction"]) for r in rows] == [
        (client.conn, "client→server"),
        (client.conn, "server→client"),
    ]
    assert (rows[0]["held"], rows[0]["messages_held"], rows[1]["held"]) == (1, 1, 0)
    wire.drop()
    assert (wire.table()[0]["held"], wire.table()[0]["messages_lost"]) == (0, 1)
