"""Real peers for the wire's tests: a Node ``ws`` server and client, an aiohttp server, a Chromium page.

Each reports the handshake it saw (Origin, Cookie, Host, subprotocol, extensions) as its first
message, then answers every message with ``Serveur a reçu : …`` like the seed's server. Every wait
has a timeout, so a broken peer fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = Path(os.environ.get("WSLAB_NODE_MODULES", REPO / "node_modules"))
CHROMIUM = os.environ.get("WSLAB_CHROMIUM", "/usr/bin/chromium")
TIMEOUT = 10.0

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "ws").is_dir(), reason="node and its ws package"
)


def _has_chromium() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def needs_chromium(test: Any) -> Any:
    """A real-browser test: marked ``browser``, skipped without Playwright and Chromium."""
    skip = pytest.mark.skipif(not _has_chromium(), reason=f"playwright and Chromium at {CHROMIUM}")
    return pytest.mark.browser(skip(test))


NODE_SERVER = r"""
const WebSocket = require('ws');
const deflate = process.env.DEFLATE === '1' ? { threshold: 0 } : false;
const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate });
wss.on('listening', () => console.log(JSON.stringify({ port: wss.address().port })));
wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ origin: req.headers.origin || null, cookie: req.headers.cookie || null,
        host: req.headers.host, protocol: ws.protocol, extensions: ws.extensions, url: req.url }));
    ws.on('message', (message) => ws.send(`Serveur a reçu : ${message}`));
});
"""

NODE_CLIENT = r"""
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[1], ['chat'],
    { origin: 'http://app.example', headers: { Cookie: 'session=s3cret' } });
let seen = 0;
ws.on('open', () => ws.send('Bonjour serveur!'));
ws.on('message', (data) => {
    console.log(JSON.stringify({ message: data.toString() }));
    if (++seen === 2) ws.close(1000, 'fini');
});
ws.on('close', (code) => console.log(JSON.stringify({ close: code })));
ws.on('error', (error) => console.log(JSON.stringify({ error: String(error) })));
"""


def _node_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NODE_PATH": str(NODE_MODULES), "NO_COLOR": "1", **extra}


@contextlib.contextmanager
def node_server(deflate: bool = False) -> Iterator[str]:
    """A Node ``ws`` server on a free loopback port; yields its ``ws://`` URL."""
    proc = subprocess.Popen(
        ["node", "-e", NODE_SERVER],
        env=_node_env(DEFLATE="1" if deflate else "0"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = json.loads(line)["port"]
        yield f"ws://127.0.0.1:{port}/"
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


def node_client(url: str) -> list[dict[str, Any]]:
    """Run the Node ``ws`` client against ``url``: it sends one message, reads two, closes."""
    done = subprocess.run(
        ["node", "-e", NODE_CLIENT, url], env=_node_env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


class AiohttpServer:
    """An aiohttp WebSocket server in a thread of its own (``/chat``, subprotocol ``chat``), TLS optional."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aiohttp-server", daemon=True)
        self._thread.start()
        assert self._ready.wait(TIMEOUT), "the aiohttp server did not start"

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://localhost:{self.port}/chat"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        from aiohttp import WSMsgType, web

        async def chat(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(protocols=("chat",))
            await ws.prepare(request)
            seen = {
                "origin": request.headers.get("Origin"),
                "cookie": request.headers.get("Cookie"),
                "host": request.headers.get("Host"),
                "protocol": ws.ws_protocol,
                "extensions": request.headers.get("Sec-WebSocket-Extensions"),
                "url": request.path_qs,
            }
            await ws.send_str(json.dumps(seen))
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await ws.send_str(f"Serveur a reçu : {message.data}")
            return ws

        app = web.Application()
        app.router.add_get("/chat", chat)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.tls)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        self.loop.close()

    def __enter__(self) -> AiohttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PAGE_CONNECT = """([url, protocols]) => new Promise((resolve) => {
    window.got = []; window.wsClosed = null;
    const ws = new WebSocket(url, protocols);
    window.ws = ws;
    ws.onmessage = (event) => window.got.push(event.data);
    ws.onclose = (event) => { window.wsClosed = [event.code, event.reason]; resolve(false); };
    ws.onopen = () => resolve(ws.extensions);
})"""


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """One Chromium page with a WebSocket to ``url``: ``send``, and ``got`` what the page received."""

    def __init__(self, browser: Any, url: str, protocols: tuple[str, ...] = ()) -> None:
        self.page = browser.new_page()
        self.extensions = self.page.evaluate(PAGE_CONNECT, [url, list(protocols)])
        assert self.extensions is not False, "the page could not connect"

    def send(self, text: str) -> None:
        self.page.evaluate("(text) => window.ws.send(text)", text)

    def got(self) -> list[str]:
        return list(self.page.evaluate("() => window.got"))

    def wait_for(self, count: int) -> list[str]:
        """The page's messages once there are ``count`` (fewer after the timeout)."""
        with contextlib.suppress(Exception):  # playwright's TimeoutError: the test says what is missing
            self.page.wait_for_function(f"() => window.got.length >= {count}", timeout=TIMEOUT * 1000)
        return self.got()

    def closed(self) -> list[Any] | None:
        closed = self.page.evaluate("() => window.wsClosed")
        return None if closed is None else list(closed)

    def close(self) -> None:
        self.page.close()
