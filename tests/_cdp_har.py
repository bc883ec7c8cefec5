"""A HAR made the way Chrome DevTools makes it: from a real Chromium's ``Network.webSocket*`` events.

``record_classic_har(url)`` opens a page in headless Chromium (Playwright), listens to the Chrome
DevTools Protocol's WebSocket events on a CDP session, runs the classic example's browser client
against ``url`` (it sends ``Bonjour serveur!`` on open), closes after the welcome and the echo,
and writes what it saw in DevTools' HAR format: one entry with ``_resourceType: "websocket"`` and
``_webSocketMessages`` whose ``time`` is wall-clock seconds (DevTools' ``pseudoWallTime``).

Run as a script, it re-makes the lesson's HAR, ``notebooks/data/classic-example.har``, against a
wslab server with the classic example's welcome and echo.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wslab.browser import ARTICLE_CLIENT_JS, ARTICLE_URL

CHROMIUM = "/usr/bin/chromium"
EVENTS = (
    "Network.webSocketCreated",
    "Network.webSocketWillSendHandshakeRequest",
    "Network.webSocketHandshakeResponseReceived",
    "Network.webSocketFrameSent",
    "Network.webSocketFrameReceived",
    "Network.webSocketFrameError",
    "Network.webSocketClosed",
)


def _page_script(url: str, extra: str) -> str:
    client = ARTICLE_CLIENT_JS.replace(ARTICLE_URL, json.dumps(url))
    return (
        "() => new Promise((resolve) => {\n"
        f"{client}\n"
        "let received = 0;\n"
        "socket.addEventListener('message', () => {\n"
        f"  received += 1;\n  {extra}\n"
        "  if (received === 2) socket.close(1000, 'fini');\n"
        "});\n"
        "socket.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean]));\n"
        "setTimeout(() => resolve('timeout'), 8000);\n"
        "})"
    )


def capture(url: str, extra: str = "", timeout: float = 15.0) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
    """The CDP WebSocket events, in order, of the classic client's session with ``url``, and its close."""
    from playwright.sync_api import sync_playwright

    seen: list[tuple[str, dict[str, Any]]] = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = chromium.new_context()
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            for name in EVENTS:
                cdp.on(name, lambda params, name=name: seen.append((name, params)))
            cdp.send("Network.enable")
            page.set_default_timeout(timeout * 1000)
            outcome = page.evaluate(_page_script(url, extra))
            deadline = time.monotonic() + timeout
            while not any(n == "Network.webSocketClosed" for n, _ in seen) and time.monotonic() < deadline:
                page.wait_for_timeout(50)
        finally:
            chromium.close()
    return seen, outcome


def _pairs(headers: dict[str, str] | None) -> list[dict[str, str]]:
    out = []
    for name, value in (headers or {}).items():
        for line in str(value).split("\n"):  # CDP joins repeated headers with newlines
            out.append({"name": name, "value": line})
    return out


def to_har(seen: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """DevTools' HAR (``log.entries``, one per socket) from the CDP events, as its exporter writes it."""
    sockets: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for name, params in seen:
        rid = params["requestId"]
        if rid not in sockets:
            sockets[rid] = {"messages": [], "initiator": {"type": "other"}}
            order.append(rid)
        sock = sockets[rid]
        if name == "Network.webSocketCreated":
            sock["url"] = params["url"]
            sock["initiator"] = params.get("initiator", {"type": "other"})
        elif name == "Network.webSocketWillSendHandshakeRequest":
            sock["wall"], sock["start"] = params["wallTime"], params["timestamp"]
            sock["request_headers"] = params["request"].get("headers", {})
        elif name == "Network.webSocketHandshakeResponseReceived":
            sock["response"] = params["response"]
        elif name in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
            frame = params["response"]
            sock["messages"].append(
                {
                    "type": "send" if name.endswith("Sent") else "receive",
                    "time": params["timestamp"],
                    "opcode": frame["opcode"],
                    "data": frame["payloadData"],
                }
            )
        elif name == "Network.webSocketFrameError":
            sock["messages"].append(
                {"type": "error", "time": params["timestamp"], "opcode": -1, "data": params["errorMessage"]}
            )
        elif name == "Network.webSocketClosed":
            sock["end"] = params["timestamp"]
    entries = []
    for rid in order:
        sock = sockets[rid]
        start, wall = sock.get("start", 0.0), sock.get("wall", time.time())

        def pseudo_wall(ts: float, start: float = start, wall: float = wall) -> float:
            return wall + (ts - start)  # DevTools' NetworkRequest.pseudoWallTime

        response = sock.get("response", {})
        duration = (sock.get("end", start) - start) * 1000
        entries.append(
            {
                "_initiator": sock["initiator"],
                "_priority": None,
                "_resourceType": "websocket",
                "cache": {},
                "connection": "",
                "pageref": "page_1",
                "request": {
                    "method": "GET",
                    "url": sock.get("url", ""),
                    "httpVersion": "HTTP/1.1",
                    "headers": _pairs(sock.get("request_headers")),
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": response.get("status", 0),
                    "statusText": response.get("statusText", ""),
                    "httpVersion": "HTTP/1.1",
                    "headers": _pairs(response.get("headers")),
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                    "_transferSize": 0,
                    "_error": None,
                },
                "serverIPAddress": "",
                "startedDateTime": datetime.fromtimestamp(wall, UTC).isoformat().replace("+00:00", "Z"),
                "time": duration,
                "timings": {
                    "blocked": -1,
                    "dns": -1,
                    "ssl": -1,
                    "connect": -1,
                    "send": 0,
                    "wait": duration,
                    "receive": 0,
                    "_blocked_queueing": -1,
                },
                "_webSocketMessages": [{**m, "time": pseudo_wall(m["time"])} for m in sock["messages"]],
            }
        )
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [
                {
                    "startedDateTime": entries[0]["startedDateTime"] if entries else "",
                    "id": "page_1",
                    "title": "about:blank",
                    "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                }
            ],
            "entries": entries,
        }
    }


def record_classic_har(url: str, extra: str = "") -> tuple[dict[str, Any], Any]:
    """The classic client's session with ``url`` as DevTools' HAR, and how the page saw it close."""
    seen, outcome = capture(url, extra)
    return to_har(seen), outcome


if __name__ == "__main__":  # re-make the lesson's HAR
    import wslab

    with wslab.Lab(name="cdp-har") as lab:
        server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
        har, _ = record_classic_har(server.url.rstrip("/") + "/app")
    target = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "classic-example.har"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(har, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")
