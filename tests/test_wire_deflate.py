"""Step-the-wire under permessage-deflate: every action gives the receiver exactly what the frame table
shows, and the next similar message still arrives intact (context takeover, Chromium's window bits)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _peers import Page, chromium, needs_chromium, needs_node, node_server

import wslab

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
