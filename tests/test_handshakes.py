"""The server's opening handshakes (wslab/_handshakes.py): the Origin and token checks, and refusals."""

from __future__ import annotations

import pytest
from _attack import handshake, request
from _helpers import everything_shown

import wslab
from wslab import ConnectionFailed

SECRET = "s3cret-Tok3n"


def test_a_rejected_handshake_is_an_error_on_the_client_and_a_reject_on_the_server(lab):
    server = lab.serve(origins=["https://school.example"])
    with pytest.raises(ConnectionFailed, match="HTTP 403"):
        lab.connect(server)
    assert lab.events.filter(side="server", kind="reject")[0].code == 403
    assert lab.events.filter(side="client", kind="close")[0].code == 1006


def test_an_origin_allow_list_refuses_other_origins_with_403(lab: wslab.Lab) -> None:
    server = lab.serve(origins=["http://localhost:8888"])
    good = lab.connect(server, origin="http://localhost:8888")
    with pytest.raises(wslab.ConnectionFailed, match="403"):
        lab.connect(server, name="evil", origin="http://evil.example")
    with pytest.raises(wslab.ConnectionFailed, match="403"):
        lab.connect(server, name="no-origin")
    rejects = lab.events.filter(side="server", kind="reject")
    assert [e.code for e in rejects] == [403, 403]
    errors = [e.error or "" for e in lab.events.filter(side="server", kind="error")]
    assert "invalid Origin header: http://evil.example" in errors[0]
    assert "missing Origin header" in errors[1]
    good.send("ok")
    assert good.recv() == "Serveur a reçu : ok"


def test_a_token_server_refuses_a_handshake_without_it_with_401(lab: wslab.Lab) -> None:
    server = lab.serve(token=SECRET)
    with pytest.raises(wslab.ConnectionFailed, match="401"):
        lab.connect(server)
    response = handshake(server.port, request())
    assert response is not None and response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    rejects = lab.events.filter(side="server", kind="reject")
    assert [e.code for e in rejects] == [401, 401]
    assert "missing token" in (lab.events.filter(side="server", kind="error")[0].error or "")


@pytest.mark.parametrize(
    ("path", "headers"),
    [(f"/?token=wrong-{SECRET}", ()), ("/", (("Authorization", f"Bearer wrong-{SECRET}"),))],
    ids=["query", "bearer"],
)
def test_a_token_server_refuses_a_wrong_token_with_403(
    lab: wslab.Lab, path: str, headers: tuple[tuple[str, str], ...]
) -> None:
    server = lab.serve(token=SECRET)
    with pytest.raises(wslab.ConnectionFailed, match="403"):
        lab.connect(server, path=path, additional_headers=headers)
    assert [e.code for e in lab.events.filter(side="server", kind="reject")] == [403]
    assert SECRET not in everything_shown(lab.events)


@pytest.mark.parametrize(
    ("path", "headers"),
    [(f"/chat?room=1&token={SECRET}", ()), ("/chat", (("Authorization", f"Bearer {SECRET}"),))],
    ids=["query", "bearer"],
)
def test_a_token_server_accepts_the_token_and_never_shows_it(
    lab: wslab.Lab, path: str, headers: tuple[tuple[str, str], ...]
) -> None:
    server = lab.serve(token=SECRET)
    client = lab.connect(server, path=path, additional_headers=headers)
    client.send("hello")
    assert client.recv() == "Serveur a reçu : hello"
    shown = everything_shown(lab.events)
    assert SECRET not in shown
    upgrade = lab.events.filter(kind="upgrade")[0]
    if "token" in path:
        assert upgrade.detail == "GET /chat?room=1&token=*** HTTP/1.1"
        assert lab.events.filter(kind="connecting")[0].data == (
            f"ws://127.0.0.1:{server.port}/chat?room=1&token=***"
        )
    else:
        assert ("Authorization", "Bearer ***") in (upgrade.headers or ())
