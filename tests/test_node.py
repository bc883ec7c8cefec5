"""wslab.node: the seed's Node ws server and client as child processes (skipped without node and ws)."""

from __future__ import annotations

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
    assert {e.peer for e in lab.events.filter(side="client")} == {"node"}
    assert lab.events.filter(side="client").kinds()[-1] == "client:close"


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
