"""wslab.node: the seed's Node ws server and client as child processes (skipped without node and ws)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import wslab
import wslab.node as node


def test_without_node_the_reason_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node.shutil, "which", lambda name: None)
    assert not node.available()
    assert "node is not on PATH" in (node.why_unavailable() or "")


def test_without_ws_the_reason_says_to_run_npm_ci(monkeypatch: pytest.MonkeyPatch, lab: wslab.Lab) -> None:
    monkeypatch.setattr(node.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(node, "_node_modules", lambda: None)
    assert "npm ci" in (node.why_unavailable() or "")
    with pytest.raises(node.NodeMissing, match="npm ci"):
        node.start_server(lab)


def test_the_seeds_server_changes_only_its_port() -> None:
    assert "{ port: Number(process.env.WSLAB_PORT) }" in node.SEED_SERVER_JS
    assert "8080" not in node.SEED_SERVER_JS
    assert "ws.send('Bienvenue sur le serveur WebSocket');" in node.SEED_SERVER_JS
    assert node.SEED_CLIENT_NODE_JS.startswith("const WebSocket = require('ws');\n")
    assert "new WebSocket(process.env.WSLAB_URL)" in node.SEED_CLIENT_NODE_JS


needs_node = pytest.mark.skipif(not node.available(), reason=node.why_unavailable() or "")


@needs_node
def test_a_wslab_client_runs_the_seed_exchange_against_the_node_server(lab: wslab.Lab) -> None:
    server = node.start_server(lab)
    client = node.connect(lab, server)
    assert client.recv() == "Bienvenue sur le serveur WebSocket"
    client.send("Bonjour serveur!")
    assert client.recv() == "Serveur a reçu : Bonjour serveur!"
    client.close(1000, "fini")
    lines = server.wait_for_output(3)
    assert lines[0] == "Nouveau client connecté"
    assert lines[1].startswith("Message reçu: <Buffer 42 6f 6e")  # ws 8 hands over a Buffer
    assert lines[2] == "Client déconnecté"
    close = server.record(until="close").filter(kind="close")[0]
    assert (close.code, close.reason, close.initiator, close.conn) == (1000, "fini", "client", client.conn)
    assert not lab.events.filter(who="node", kind="closing")  # ws answering a close frame starts nothing
    assert {e.peer for e in lab.events.filter(side="client")} == {"node"}
    assert lab.events.filter(side="client").kinds()[-1] == "client:close"


@needs_node
def test_the_report_patches_the_ws_the_server_loads_even_below_another_node_modules(
    lab: wslab.Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain install puts wslab/js in site-packages; a venv inside a clone has the clone's node_modules
    # above it, a second copy of ws that the server's own require('ws') never loads (found on Binder's
    # emulation: no server event was reported).
    modules = node._node_modules()
    assert modules is not None
    shutil.copytree(node._JS, tmp_path / "site-packages" / "wslab" / "js")
    shutil.copytree(modules / "ws", tmp_path / "node_modules" / "ws")  # the decoy, above the scripts
    monkeypatch.setattr(node, "_JS", tmp_path / "site-packages" / "wslab" / "js")
    server = node.start_server(lab)
    client = node.connect(lab, server)
    client.send("hi")
    client.close()
    assert server.record(until="close", timeout=5).kinds() == [
        "server:connection", "server:send", "server:message", "server:send", "server:close"
    ]  # fmt: skip


@needs_node
def test_the_seeds_client_under_node_is_named_by_the_wslab_server(lab: wslab.Lab) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    process = node.run_client(lab, server, name="node-client", record_console=True)
    assert process.wait_for_output(3)[2] == "Message reçu: Serveur a reçu : Bonjour serveur!"
    server.close()
    assert process.wait() == 0
    assert process.console[-1] == "Connexion fermée: 1001 server shutting down"  # no colour codes
    connection = lab.events.filter(side="server", kind="connection")[0]
    assert (connection.peer, connection.conn) == ("node-client", process.conn)
    notes = lab.events.filter(side="client", kind="note")
    assert notes[0].detail == "node: Connexion ouverte" and notes[0].conn == process.conn


@needs_node
def test_closing_the_lab_leaves_no_node_process() -> None:
    lab = wslab.Lab(name="node-cleanup", timeout=3.0, settle=1.0)
    server = node.start_server(lab)
    client_process = node.run_client(lab, lab.serve())
    client_process.wait_for_output(1)
    lab.close()
    assert server.process.poll() is not None
    assert client_process.process.poll() is not None


@needs_node
def test_the_node_server_listens_on_loopback_only(lab: wslab.Lab) -> None:
    import psutil

    server = node.start_server(lab)
    listening = [
        c.laddr
        for c in psutil.Process(server.process.pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(address.ip == "127.0.0.1" for address in listening)


@needs_node
def test_a_throw_in_the_message_handler_ends_the_whole_node_process(lab: wslab.Lab) -> None:
    server = node.start_server(lab, script="crash")
    alice, bob = node.connect(lab, server, name="alice"), node.connect(lab, server, name="bob")
    alice.recv(), bob.recv()
    alice.send("Bonjour serveur!")  # not JSON: JSON.parse throws inside ws.on('message')
    assert server.wait() == 1
    alice.wait_closed(), bob.wait_closed()
    assert (alice.close_code, bob.close_code) == (1006, 1006)  # no close frame for anyone
    events = server.record()
    assert events.kinds()[-2:] == ["server:message", "server:note"]
    assert events[-1].detail == "the node process exits with code 1"
    assert not events.filter(kind=("error", "close"))  # Node fired neither
    assert any(line.startswith("SyntaxError: Unexpected token 'B'") for line in server.console)


@needs_node
def test_with_try_catch_bad_json_gets_an_answer_and_a_bug_closes_one_connection_with_1011(
    lab: wslab.Lab,
) -> None:
    server = node.start_server(lab, script="safe")
    client = node.connect(lab, server)
    client.recv()
    client.send("Bonjour serveur!")
    assert client.recv() == '{"type":"error","error":"JSON invalide"}'
    client.send('{"text":"salut"}')
    assert client.recv() == "Serveur a reçu : SALUT"
    client.send('{"type":"chat"}')  # no text: a TypeError in the handler, caught
    client.wait_closed()
    assert (client.close_code, client.close_reason) == (1011, "erreur interne")
    assert server.running
    close = server.record(until="close").filter(kind="close")[0]
    assert (close.code, close.conn, close.peer, close.initiator) == (1011, client.conn, client.name, "node")


@needs_node
def test_the_heartbeat_terminates_a_client_that_stops_answering_pings(lab: wslab.Lab) -> None:
    server = node.start_server(lab, script="heartbeat")
    client = node.connect(lab, server)
    client.recv()
    client.stall(2.0)
    client.wait_closed()
    assert client.close_code == 1006
    kinds = server.record(until="close").kinds()
    assert kinds[-2:] == ["server:note", "server:close"]  # terminate(), then close 1006
    assert lab.events.filter(who="node", kind="close")[0].code == 1006


@needs_node
def test_a_message_over_max_payload_fires_error_and_close_1006_and_sends_1009(lab: wslab.Lab) -> None:
    server = node.start_server(lab, script="heartbeat")
    client = node.connect(lab, server)
    client.recv()
    client.send("x" * 2000)  # maxPayload is 1024 bytes
    client.wait_closed()
    assert client.close_code == 1009
    events = server.record(until="close")
    error = events.filter(kind="error")[0]
    assert "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" in (error.error or "")
    assert events.filter(kind="close")[0].code == 1006


@needs_node
def test_invalid_utf8_fires_the_article_servers_error_event(lab: wslab.Lab) -> None:
    server = node.start_server(lab)
    client = node.connect(lab, server)
    client.recv()
    client.send(b"\xff", text=True)
    client.wait_closed()
    assert client.close_code == 1007
    events = server.record(until="close")
    assert events.kinds()[-3:] == ["server:closing", "server:error", "server:close"]
    assert "WS_ERR_INVALID_UTF8" in (events.filter(kind="error")[0].error or "")
    assert server.console[1].startswith("Erreur: Error: Invalid WebSocket frame: invalid UTF-8 sequence")
    assert not any(line.startswith(node.REPORT) for line in server.console)


@needs_node
def test_binary_and_long_messages_are_recorded_by_their_bytes_and_size(lab: wslab.Lab) -> None:
    server = node.start_server(lab)
    client = node.connect(lab, server)
    client.recv()
    client.send(b"\x00\x01\xfe")
    client.recv()
    client.send("y" * 10_000)
    client.recv()
    client.close()
    messages = server.record(until="close").filter(kind="message")
    assert (messages[0].data, messages[0].size) == (b"\x00\x01\xfe", 3)
    assert messages[1].size == 10_000 and len(messages[1].data or "") == 4096
