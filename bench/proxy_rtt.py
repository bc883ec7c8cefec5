"""Echo round trip to a wslab server: direct, and through a notebook server's proxy.

``python -m bench.proxy_rtt [--count 500] [--size 64]`` starts ``jupyter lab`` on loopback (a
token, jupyter-server-proxy installed), a wslab server in this process, and times one message at a
time from a plain ``websockets`` client: to ``ws://127.0.0.1:PORT/`` and to
``ws://127.0.0.1:LAB/proxy/PORT/`` with ``Authorization: token …`` (what a Python client on a
remote JupyterLab would do). The page's numbers behind a hub come from
``WSLAB_HUB_RTT=1 pytest -s -m hub tests/browser/test_hub_e2e.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

import wslab

from ._common import payload, percentile

__all__ = ["main", "measure"]


async def measure(url: str, count: int, size: int, headers: dict[str, str] | None = None) -> list[float]:
    """``count`` awaited echoes of ``size`` bytes after the welcome; milliseconds each."""
    text = payload(size)
    times = []
    async with connect(url, additional_headers=headers, compression=None) as ws:
        await ws.recv()  # the welcome
        for _ in range(count):
            start = time.perf_counter()
            await ws.send(text)
            await ws.recv()
            times.append((time.perf_counter() - start) * 1000)
    return times


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    port, token = _free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "lab.log"
        with open(log, "w") as out:
            lab_process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1"),
                    *(f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"),
                    "--allow-root",
                ],
                env={**os.environ, "JUPYTER_CONFIG_DIR": str(Path(work) / "jupyter")},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        lab = wslab.Lab(clock="logical", capacity=10_000)
        try:
            deadline = time.monotonic() + 40
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or lab_process.poll() is not None:
                        raise SystemExit(f"jupyter lab did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            server = lab.serve(welcome="hi", handler=lambda message, peer: message)
            routes = {
                "direct": (f"ws://127.0.0.1:{server.port}/", None),
                "proxy": (
                    f"ws://127.0.0.1:{port}/proxy/{server.port}/",
                    {"Authorization": f"token {token}"},
                ),
            }
            for name, (url, headers) in routes.items():
                asyncio.run(measure(url, 50, args.size, headers))  # warm-up
                times = asyncio.run(measure(url, args.count, args.size, headers))
                print(
                    f"{name:6} {args.size} B x {args.count}: p50 {percentile(times, 50):.3f} ms, "
                    f"p90 {percentile(times, 90):.3f} ms, p99 {percentile(times, 99):.3f} ms"
                )
        finally:
            lab.close()
            lab_process.terminate()
            try:
                lab_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                lab_process.kill()


if __name__ == "__main__":
    main()
