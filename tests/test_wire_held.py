"""The wire's held frames and step actions (wslab/wire/held.py): hold, deliver, drop, edit, delay, corrupt,
inject, cut, close_links.

Under permessage-deflate every action gives the receiver exactly what the frame table shows, and the next
similar message still arrives intact (context takeover, Chromium's window bits)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _helpers import frames
from _peers import Page, chromium, needs_chromium, needs_node, node_server

import wslab
from wslab import State, WslabError

HELLO = "Bonjour serveur!"
ECHO = f"Serveur a reçu : {HELLO}"
FIRST = "Premier message"  # unlike HELLO: a later HELLO can only point back into the held one
C2S, S2C = "client→server", "server→client"

# What the receiver gets for the held message (c2s: HELLO, s2c: its echo), by action.
ACTIONS: dict[str, Callable[[wslab.Wire, str], None]] = {
    "deliver": lambda wire, direction: wire.deliver(),
    "delay": lambda wire, direction: wire.delay(0.05),
    "edit": lambda wire, direction: wire.edit("Salut serveur!"),
    "drop": lambda wire, direction: wire.drop(),
    "inject": lambda wire, direction: (wire.inject("Coucou", direction), wire.deliver()),
    "corrupt": lambda wire, direction: wire.corrupt("flip-bit"),
}
RECEIVED = {
    C2S: {
        "deliver": [HELLO],
        "delay": [HELLO],
        "edit": ["Salut serveur!"],
        "drop": [],
        "inject": ["Coucou", HELLO],
        "corrupt": ["Conjour serveur!"],  # B (0x42) with its lowest bit flipped
    },
    S2C: {
        "deliver": [ECHO],
        "delay": [ECHO],
        "edit": ["Salut serveur!"],
        "drop": [],
        "inject": ["Coucou", ECHO],
        "corrupt": ["R" + ECHO[1:]],  # S (0x53) with its lowest bit flipped
    },
}
CHANGES_THE_STREAM = {"edit", "drop", "corrupt"}


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def sent_on(lab: wslab.Lab, direction: str) -> list[Any]:
    """What the frame table says went on in ``direction``, in the order it went: frames passed or
    made by the wire when recorded, held frames when a ``deliver`` note says they went."""
    out: list[Any] = []
    held: dict[tuple[str | None, int], list[Any]] = {}
    for e in lab.events.filter(side="wire"):
        if e.frame is None or e.frame.direction != direction or e.frame.opcode != "TEXT":
            continue
        key = (e.frame.mask_key, e.frame.length)
        if e.kind == "frame" and e.detail == "held":
            held.setdefault(key, []).append(e.data)
        elif e.kind == "frame":
            out.append(e.data)
        elif (e.detail or "").startswith("deliver"):
            out.append(held[key].pop(0))
    return out


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("direction", [C2S, S2C])
def test_each_action_gives_the_receiver_what_the_table_shows_and_later_messages_arrive_intact(
    lab: wslab.Lab, direction: str, action: str, compression: str | None
) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire, compression=compression)
    client.send(FIRST)
    assert client.recv() == f"Serveur a reçu : {FIRST}"
    wire.hold(direction)
    client.send(HELLO)
    assert wait_until(lambda: len(wire.pending) == 1)
    assert wire.pending[0].info.rsv1 is (compression == "deflate")
    ACTIONS[action](wire, direction)
    wire.release()
    client.send(HELLO)  # the follow-up: as similar as can be
    expected = [FIRST, *RECEIVED[direction][action], HELLO] if direction == C2S else None
    if direction == C2S:
        assert wait_until(lambda: len(server_got(lab)) >= len(expected or []))
        assert server_got(lab) == expected
    else:
        got = [client.recv() for _ in RECEIVED[S2C][action]] + [client.recv()]
        assert got == [*RECEIVED[S2C][action], ECHO]
    assert not lab.events.filter(kind="error") and client.state is wslab.State.OPEN
    assert sent_on(lab, direction)[1:] == [*RECEIVED[direction][action], HELLO if direction == C2S else ECHO]
    follow_up = [e for e in lab.events.filter(side="wire", kind="frame") if e.frame.direction == direction][
        -1
    ]
    assert follow_up.frame.rsv1 is (compression == "deflate")
    recompressed = compression == "deflate" and action in CHANGES_THE_STREAM
    assert (follow_up.detail or "").startswith("re-compressed") is recompressed


def server_got(lab: wslab.Lab) -> list[Any]:
    return [e.data for e in lab.events.filter(side="server", kind="message")]


def test_pass_through_under_deflate_stays_byte_exact_while_held_frames_are_delivered_unchanged(
    lab: wslab.Lab,
) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    sent: list[bytes] = []
    seen: list[bytes] = []
    write = client.ws.transport.write
    client.ws.transport.write = lambda data: (sent.append(bytes(data)), write(data))[1]
    peer = server.connections[0].ws
    received = peer.data_received
    peer.data_received = lambda data: (seen.append(bytes(data)), received(data))[1]
    wire.hold()
    for _ in range(3):
        client.send(HELLO)
    wire.deliver()
    wire.release()
    client.send(HELLO)
    assert [client.recv() for _ in range(4)] == [ECHO] * 4
    assert b"".join(sent) == b"".join(seen) != b""
    assert all(e.detail in (None, "held") for e in lab.events.filter(side="wire", kind="frame"))


def test_without_context_takeover_a_drop_needs_no_recompression(lab: wslab.Lab) -> None:
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    server = lab.serve()
    wire = lab.wire(server)
    no_takeover = ClientPerMessageDeflateFactory(
        client_no_context_takeover=True, server_no_context_takeover=True
    )
    client = lab.connect(wire, compression=None, extensions=[no_takeover])
    wire.hold(C2S)
    client.send(HELLO)
    wire.drop()
    wire.release()
    client.send(HELLO)
    assert client.recv() == ECHO
    last = [e for e in lab.events.filter(side="wire", kind="frame") if e.frame.direction == C2S][-1]
    assert last.frame.rsv1 and last.detail is None  # passed on as it came


# --- Chromium ↔ wire ↔ wslab server --------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@needs_chromium
@pytest.mark.parametrize("action", ["edit", "drop"])
@pytest.mark.parametrize("direction", [C2S, S2C])
def test_chromium_through_the_wire_keeps_every_later_message_after_an_edit_or_a_drop(
    lab: wslab.Lab, browser: Any, direction: str, action: str
) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    page = Page(browser, wire.url)
    try:
        assert page.extensions.startswith("permessage-deflate")
        assert "client_max_window_bits" in wire.handshake()  # what Chromium offers
        page.send(FIRST)
        assert page.wait_for(1) == [f"Serveur a reçu : {FIRST}"]
        wire.hold(direction)
        page.send(HELLO)
        assert wait_until(lambda: len(wire.pending) == 1)
        assert wire.pending[0].info.rsv1
        ACTIONS[action](wire, direction)
        wire.release()
        page.send(HELLO)
        changed = {"edit": ["Salut serveur!"], "drop": []}[action]
        if direction == C2S:
            expected_page = [f"Serveur a reçu : {m}" for m in [FIRST, *changed, HELLO]]
            assert wait_until(lambda: len(server_got(lab)) >= 2 + len(changed))
            assert server_got(lab) == [FIRST, *changed, HELLO]
        else:
            expected_page = [f"Serveur a reçu : {FIRST}", *changed, ECHO]
        assert page.wait_for(len(expected_page)) == expected_page
        assert page.closed() is None and not lab.events.filter(kind="error")
    finally:
        page.close()


# --- wslab client ↔ wire ↔ Node server -----------------------------------------------------------


@needs_node
@pytest.mark.parametrize("action", ["edit", "drop"])
@pytest.mark.parametrize("direction", [C2S, S2C])
def test_a_node_server_through_the_wire_keeps_every_later_message_after_an_edit_or_a_drop(
    lab: wslab.Lab, direction: str, action: str
) -> None:
    with node_server(deflate=True) as url:
        wire = lab.wire(url)
        client = lab.connect(wire.url)
        assert "permessage-deflate" in client.recv()  # the Node server says what it agreed to
        client.send(FIRST)
        assert client.recv() == f"Serveur a reçu : {FIRST}"
        wire.hold(direction)
        client.send(HELLO)
        assert wait_until(lambda: len(wire.pending) == 1)
        assert wire.pending[0].info.rsv1
        ACTIONS[action](wire, direction)
        wire.release()
        client.send(HELLO)
        changed = {"edit": ["Salut serveur!"], "drop": []}[action]
        if direction == C2S:
            expected = [*[f"Serveur a reçu : {m}" for m in changed], ECHO]
        else:
            expected = [*changed, ECHO]
        assert [client.recv() for _ in expected] == expected
        assert client.state is wslab.State.OPEN and not lab.events.filter(kind="error")


def test_a_message_that_overtakes_a_held_compressed_one_is_recompressed_so_both_arrive_intact(
    lab: wslab.Lab,
) -> None:
    server = lab.serve(handler=lambda message, peer: message)  # echo as it came: text or bytes
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold(C2S, opcodes="TEXT")
    client.send(HELLO)
    client.send(HELLO.encode())  # binary: not held, so it goes first
    assert client.recv() == HELLO.encode()
    overtaking = next(e for e in lab.events.filter(side="wire", kind="frame") if e.frame.opcode == "BINARY")
    assert (overtaking.detail or "").startswith("re-compressed")
    wire.release()
    assert client.recv() == HELLO
    client.send(HELLO)
    assert client.recv() == HELLO and not lab.events.filter(kind="error")


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
    assert wait_until(lambda: client.state is State.CLOSED, 3.0)
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
    assert wait_until(lambda: client.state is State.CLOSED, 3.0)
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
