"""The wire: a relay between clients and a server that records, holds and breaks frames."""

import base64
import os
import socket
import time
from collections.abc import Callable

import pytest

from wslab import State, WslabError


def wait_until(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def frames(lab, conn=None):
    return lab.events.filter(side="wire", kind="frame", conn=conn)


def tap(client, peer):
    """Record the bytes the client writes and the bytes the server's connection receives."""
    sent: list[bytes] = []
    seen: list[bytes] = []
    transport = client.ws.transport
    write = transport.write

    def recording_write(data):
        sent.append(bytes(data))
        write(data)

    transport.write = recording_write
    received = peer.ws.data_received

    def recording_received(data):
        seen.append(bytes(data))
        received(data)

    peer.ws.data_received = recording_received
    return sent, seen


# --- pass-through ----------------------------------------------------------------------------------


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


def test_the_handshake_is_recorded_as_it_crossed_and_shown_without_varying_values(lab):
    server = lab.serve()
    wire = lab.wire(server)
    lab.connect(wire)
    request, response = lab.events.filter(side="wire", kind="note")
    assert request.data.startswith(b"GET / HTTP/1.1\r\n") and request.data.endswith(b"\r\n\r\n")
    assert response.data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert request.detail == f"HTTP request client→server: GET / HTTP/1.1 ({len(request.headers)} headers)"
    assert ("Upgrade", "websocket") in request.headers
    text = wire.handshake()
    key = dict(request.headers)["Sec-WebSocket-Key"]
    assert "Sec-WebSocket-Key: …" in text and key not in text and str(wire.port) not in text
    assert "Sec-WebSocket-Accept: …" in text and "Date: …" in text and "Upgrade: websocket" in text


# --- step mode -------------------------------------------------------------------------------------


def test_a_send_while_holding_returns_with_the_frame_on_the_wire(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold()
    started = time.monotonic()
    client.send("Bonjour")
    assert time.monotonic() - started < 0.5  # the lab's settle does not wait for held frames
    assert repr(wire.pending) == "[client→server TEXT fin=1 masked len=7 'Bonjour']"
    assert not lab.events.filter(side="server", kind="message")
    assert frames(lab)[-1].detail == "held"


def test_deliver_lets_the_frame_go_and_the_reply_waits_in_turn(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold()
    client.send("Bonjour")
    wire.deliver()
    assert lab.events.filter(side="server", kind="message")[0].data == "Bonjour"
    assert repr(wire.pending) == "[server→client TEXT fin=1 len=25 'Serveur a reçu : Bonjour']"
    assert not client.inbox
    wire.release()
    assert client.recv() == "Serveur a reçu : Bonjour" and wire.pending == []


def test_each_action_is_a_note_naming_the_frame_it_acted_on(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold("client→server")
    client.send("un")
    client.send("deux")
    wire.drop()
    wire.deliver()
    notes = lab.events.filter(side="wire", kind="note")[-3:]
    assert [n.detail.split()[0] for n in notes] == ["hold:", "drop", "deliver"]
    assert notes[1].frame == frames(lab)[-3].frame and notes[1].peer == "server"
    assert notes[2].detail == "deliver client→server TEXT fin=1 masked len=4 'deux'"


def test_deliver_n_delivers_the_oldest_frames_in_order(lab):
    server = lab.serve(echo=None)
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    for word in ["un", "deux", "trois"]:
        client.send(word)
    wire.deliver(2)
    assert [e.data for e in lab.events.filter(side="server", kind="message")] == ["un", "deux"]
    assert [h.data for h in wire.pending] == ["trois"]


def test_a_dropped_frame_never_arrives_and_the_lab_does_not_wait_for_it(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("perdu")
    dropped = wire.drop()
    assert dropped.data == "perdu" and wire.pending == []
    wire.release()
    started = time.monotonic()
    client.send("suivant")
    assert time.monotonic() - started < 0.5
    assert [e.data for e in lab.events.filter(side="server", kind="message")] == ["suivant"]
    assert client.state is State.OPEN


def test_edit_sends_a_new_payload_with_a_fresh_mask(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold()
    client.send("Bonjour")
    wire.edit("Salut")
    original, edited = frames(lab)[-3:-1]
    assert (original.data, edited.data, edited.detail) == ("Bonjour", "Salut", "edited")
    assert edited.frame.masked and edited.frame.length == 5
    assert lab.events.filter(side="server", kind="message")[0].data == "Salut"
    wire.edit(b"\x01\x02")  # the server's reply, now binary
    assert client.recv() == b"\x01\x02"


def test_editing_a_close_frame_changes_the_code_the_peer_gets(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.close(1000, "bye")
    wire.edit(code=4001, reason="edited")
    assert lab.events.filter(side="server", kind="close")[0].code == 4001
    with pytest.raises(WslabError, match="1005"):
        wire.hold()
        client2 = lab.connect(wire)
        client2.close()
        wire.edit(code=1005)


def test_delay_delivers_the_frame_that_much_later(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.send("lent")
    started = time.monotonic()
    wire.delay(0.2)
    assert time.monotonic() - started >= 0.2
    assert client.recv() == "Serveur a reçu : lent"  # the reply was not held: only client→server is


def test_a_flipped_bit_arrives_unnoticed(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=None)
    wire.hold("client→server")
    client.send("Bonjour")
    wire.corrupt("flip-bit")
    assert lab.events.filter(side="server", kind="message")[0].data == "Conjour"
    assert frames(lab)[-2].detail == "corrupted (flip-bit)"
    assert client.state is State.OPEN


def test_broken_utf8_makes_the_server_close_with_1007(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("Bonjour")
    wire.corrupt("bad-utf8")
    (answer,) = wire.pending
    assert (answer.direction, answer.code) == ("server→client", 1007)
    wire.release()
    assert client.state is State.CLOSED and client.close_code == 1007
    assert not lab.events.filter(side="server", kind="message")


def test_an_unmasked_client_frame_makes_the_server_close_with_1002(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.send("Bonjour")
    wire.corrupt("unmask")
    assert not frames(lab)[-3].frame.masked
    assert [(h.direction, h.code) for h in wire.pending] == [("client→server", 1002)]  # the client's answer
    wire.release()
    assert client.state is State.CLOSED and client.close_code == 1002
    assert client.close_reason == "incorrect masking"


def test_a_masked_server_frame_makes_the_client_fail_with_1002(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("server→client")
    client.send("Bonjour")
    wire.corrupt("unmask")  # toggles the mask bit: a server frame goes out masked
    wire.release()
    assert wait_until(lambda: client.state is State.CLOSED)
    assert lab.events.filter(side="server", kind="close")[0].code == 1002


def test_cut_drops_both_tcp_connections_and_both_ends_see_1006(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("jamais")
    wire.cut()
    assert client.state is State.CLOSED and client.close_code == 1006
    assert lab.events.filter(side="server", kind="close")[0].code == 1006
    note = lab.events.filter(side="wire", kind="note")[-1].detail
    assert note.startswith("cut c1: both TCP connections closed") and "'jamais'" in note
    assert wire.pending == []


def test_close_while_holding_returns_and_release_completes_the_handshake(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    started = time.monotonic()
    client.close(1000, "bye")
    assert time.monotonic() - started < 1.0
    assert [h.frame.opcode.name for h in wire.pending] == ["CLOSE"]
    assert client.state is State.CLOSING
    wire.deliver()
    assert [h.code for h in wire.pending] == [1000]  # the server's answer, held in turn
    wire.release()
    assert client.state is State.CLOSED and client.close_code == 1000


def test_a_held_pong_makes_the_client_keepalive_time_out_with_1011(lab):
    server = lab.serve()
    wire = lab.wire(server)
    wire.hold(opcodes="PONG")
    client = lab.connect(wire, ping_interval=0.1, ping_timeout=0.1)
    assert wait_until(lambda: client.state is State.CLOSED)
    lab.settle()
    ping, pong, close = frames(lab)[:3]
    assert (ping.frame.opcode, pong.frame.opcode, pong.detail) == ("PING", "PONG", "held")
    assert (close.frame.direction, close.code, close.reason) == (
        "client→server",
        1011,
        "keepalive ping timeout",
    )
    assert lab.events.filter(side="server", kind="close")[0].code == 1011


def test_actions_need_a_held_frame_and_say_so(lab):
    server = lab.serve()
    wire = lab.wire(server)
    lab.connect(wire)
    for action in (wire.deliver, wire.drop, lambda: wire.edit("x"), wire.corrupt, lambda: wire.delay(0.1)):
        with pytest.raises(WslabError, match="no frame is held"):
            action()
    with pytest.raises(ValueError, match="direction"):
        wire.hold("sideways")
    with pytest.raises(ValueError, match="opcode"):
        wire.hold(opcodes="PANG")


# --- compression, several clients, robustness --------------------------------------------------


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


def test_closing_the_lab_reports_held_frames_and_leaves_nothing_open():
    import wslab

    before = len(os.listdir("/proc/self/fd"))
    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="test-wire-close")
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("oublié")
    lab.close()
    note = [e for e in lab.events.filter(side="wire", kind="note") if e.detail.startswith("lab closing")]
    assert len(note) == 1 and "'oublié'" in note[0].detail
    assert lab.events.filter(side="client", kind="close")[0].code == 1001
    assert not wire._tasks and wire._listener is None
    assert all(link.client_writer.transport.is_closing() for link in wire.links)
    assert wait_until(lambda: len(os.listdir("/proc/self/fd")) <= before, 2.0)


def test_frame_hooks_see_every_frame_as_it_crosses(lab):
    server = lab.serve()
    wire = lab.wire(server)
    seen = []
    wire.on("frame", lambda event: seen.append((event.frame.direction, event.data)))
    client = lab.connect(wire)
    client.send("vu")
    assert seen == [("client→server", "vu"), ("server→client", "Serveur a reçu : vu")]


def test_a_refused_handshake_crosses_the_wire_untouched(lab):
    from wslab import ConnectionFailed

    server = lab.serve(token="s3cret")
    wire = lab.wire(server)
    with pytest.raises(ConnectionFailed):
        lab.connect(wire)
    response = lab.events.filter(side="wire", kind="note")[-1]
    assert response.detail.startswith("HTTP response server→client: 401")
    assert not frames(lab)
    client = lab.connect(wire, path="/?token=s3cret")
    client.send("ok")
    assert client.recv() == "Serveur a reçu : ok"


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


def test_an_edited_compressed_frame_goes_out_compressed_again_and_is_accepted(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.send("Bonjour")
    assert wire.pending[0].info.rsv1
    wire.edit("Salut")
    edited = frames(lab).filter()[-2]
    assert (edited.frame.rsv1, edited.data, edited.size, edited.detail) == (True, "Salut", 5, "edited")
    assert client.recv() == "Serveur a reçu : Salut"


def test_the_wire_masks_credentials_in_the_handshake_it_records(lab):
    server = lab.serve(token="s3cret")
    wire = lab.wire(server)
    lab.connect(wire, path="/?token=s3cret", additional_headers={"Authorization": "Bearer s3cret"})
    notes = lab.events.filter(side="wire", kind="note")
    seen = " ".join(f"{e.data!r} {e.headers!r} {e.detail}" for e in notes)
    assert "GET /?token=***" in seen and "Bearer ***" in seen
    assert "s3cret" not in seen


def test_inject_sends_a_message_neither_end_wrote_and_records_it(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.inject("Coucou", "server→client")
    assert client.recv() == "Coucou"
    injected = frames(lab)[-1]
    assert (injected.data, injected.detail, injected.frame.rsv1) == ("Coucou", "injected", False)
    note = lab.events.filter(side="wire", kind="note")[-1]
    assert note.detail.startswith("inject client") or note.detail.startswith("inject server")
    wire.inject(b"\x01\x02")  # client→server by default
    assert lab.events.filter(side="server", kind="message")[-1].data == b"\x01\x02"


def test_inject_needs_an_open_connection_and_a_known_direction(lab):
    server = lab.serve()
    wire = lab.wire(server)
    with pytest.raises(WslabError, match="no open connection"):
        wire.inject("personne")
    client = lab.connect(wire)
    with pytest.raises(ValueError, match="direction"):
        wire.inject("x", "sideways")
    client.close()
    with pytest.raises(WslabError):
        wire.inject("trop tard")


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


def test_close_links_sends_both_ends_a_1001_and_ends_the_connection(lab):
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("oublié")
    wire.close_links()
    assert client.state is State.CLOSED and client.close_code == 1001
    assert server.registry[0].close_code == 1001
    made = [e for e in frames(lab) if e.detail == "closed by the wire"]
    assert [(e.frame.direction, e.code) for e in made] == [("client→server", 1001), ("server→client", 1001)]
    answers = [e for e in frames(lab) if (e.detail or "").startswith("not passed on")]
    assert {e.frame.opcode for e in answers} == {"CLOSE"}  # each end's answer stops at the wire
    notes = [e.detail for e in lab.events.filter(side="wire", kind="note")]
    assert any(d.startswith("wire closing: 1 held frame never delivered") and "oublié" in d for d in notes)


def test_the_handshake_a_wire_shows_masks_cookies_and_tokens(lab) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    secrets = {"Cookie": "session=abc123", "Authorization": "Bearer xyz789"}
    client = lab.connect(wire, path="/chat?token=s3cret", additional_headers=secrets)
    shown = wire.handshake(client.conn)
    assert "abc123" not in shown and "s3cret" not in shown and "xyz789" not in shown
    assert "Cookie:" in shown and "Authorization:" in shown
    client.close()
