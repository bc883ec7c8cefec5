"""The wire's public face (wslab/wire/_wire.py): the handshake it shows, masked and without varying values."""


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


def test_the_handshake_a_wire_shows_masks_cookies_and_tokens(lab) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    secrets = {"Cookie": "session=abc123", "Authorization": "Bearer xyz789"}
    client = lab.connect(wire, path="/chat?token=s3cret", additional_headers=secrets)
    shown = wire.handshake(client.conn)
    assert "abc123" not in shown and "s3cret" not in shown and "xyz789" not in shown
    assert "Cookie:" in shown and "Authorization:" in shown
    client.close()
