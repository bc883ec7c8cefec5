"""Memory and descriptors stay bounded, measured in a fresh process each (RSS is per process).

Each scenario runs as ``python -c`` so earlier tests cannot inflate or hide what it measures; the
child prints one JSON line of measurements and the test checks them. Marked ``slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

MEASURE = textwrap.dedent(
    """
    import gc, json, os, sys, time
    import psutil
    def rss_mib():
        return psutil.Process().memory_info().rss / 2**20
    """
)


def run_child(body: str, timeout: float = 600) -> dict[str, float]:
    code = MEASURE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{result}")
    return result


def test_a_thousand_echoes_of_one_mib_stay_under_200_mib() -> None:
    result = run_child(
        """
        import wslab
        lab = wslab.Lab(clock="logical", name="echoes")
        client = lab.connect(lab.serve(), compression=None)
        payload = b"\\x01" * 1_000_000
        peak = 0.0
        for i in range(1000):
            client.send(payload)
            if i % 2:
                client.recv()  # half read, half left unread: the inbox must stay bounded too
            if i % 50 == 0:
                peak = max(peak, rss_mib())
        peak = max(peak, rss_mib())
        print(json.dumps({"peak_rss_mib": peak, "kept": len(lab.events), "dropped": lab.recorder.dropped,
                          "truncated": lab.recorder.truncated, "payload_bytes": lab.recorder.payload_bytes,
                          "inbox_dropped": client.inbox_dropped}))
        lab.close()
        """
    )
    assert result["peak_rss_mib"] < 200
    assert result["truncated"] == 4000  # each echo: two sends, two messages, each cut to its head
    assert result["dropped"] > 0 and result["inbox_dropped"] > 0  # both budgets did their job, counted
    assert result["payload_bytes"] <= 64 * 1024 * 1024


def test_ten_thousand_connect_close_cycles_grow_rss_by_under_20_mib_and_keep_no_websockets_object() -> None:
    result = run_child(
        """
        import wslab
        from websockets.asyncio.connection import Connection
        lab = wslab.Lab(clock="logical", name="churn", capacity=10_000)
        server = lab.serve()
        gc.collect()
        before = rss_mib()
        for _ in range(10_000):
            lab.connect(server).close()
        gc.collect()
        alive = sum(isinstance(o, Connection) for o in gc.get_objects())
        print(json.dumps({"grew_mib": rss_mib() - before, "websockets_alive": alive,
                          "clients_kept": len(lab.clients), "registry": len(server.registry)}))
        lab.close()
        """,
        timeout=900,
    )
    assert result["grew_mib"] < 20
    assert result["websockets_alive"] == 0
    assert result["clients_kept"] <= 2 * 100 + 16  # keep_closed=100, trimmed in batches


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_running_out_of_descriptors_fails_at_once_and_says_so() -> None:
    result = run_child(
        """
        import resource, socket
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))  # a low hard limit: nothing to raise
        import wslab
        lab = wslab.Lab(clock="logical", name="fds", timeout=5.0)
        server = lab.serve()
        clients, failure, took = [], "", 0.0
        for _ in range(200):
            started = time.monotonic()
            try:
                clients.append(lab.connect(server))
            except wslab.ConnectionFailed as exc:
                failure, took = str(exc), time.monotonic() - started
                break
        # a peer outside the lab does not check first: free a few, fill them again with raw
        # sockets, and the server's accept of the last ones fails
        for client in clients[:3]:
            client.close()
        raw = []
        try:
            while True:
                raw.append(socket.create_connection(("127.0.0.1", server.port)))
        except OSError:
            pass
        time.sleep(0.5)
        errors = [e.error for e in lab.events.filter(side="server", kind="error")]
        for sock in raw:
            sock.close()
        print(json.dumps({"connected": len(clients), "failure": failure, "took": took,
                          "server_errors": errors}))
        lab.close()
        """
    )
    assert result["connected"] > 50
    assert str(result["failure"]).startswith("too many open files: ")
    assert "limit 200" in str(result["failure"])
    assert float(result["took"]) < 1.0  # not the 5 s handshake timeout
    errors = result["server_errors"]
    assert isinstance(errors, list)
    assert any("too many open files" in e and "could not accept" in e for e in errors)
