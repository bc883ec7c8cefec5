"""Scale-out over Redis, with a real redis-server child process (no mocks)."""

import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wslab
from wslab.redis_bus import RedisProcess, redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server or the redis package is missing")

REMOTE = Path(__file__).parent / "helpers" / "remote_server.py"


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisProcess]:
    with RedisProcess() as process:
        yield process


@pytest.fixture
def remote(redis: RedisProcess) -> Iterator[int]:
    """A server named 'far' in another Python process, on the same bus; yields its port."""
    child = subprocess.Popen(
        [sys.executable, str(REMOTE), redis.url, "far"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        yield int(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(10)


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_redis_starts_on_loopback_and_stops_cleanly():
    process = RedisProcess()
    assert process.running and process.url.startswith("redis://127.0.0.1:")
    process.stop()
    assert not process.running


def test_a_broadcast_reaches_every_client_of_two_processes_exactly_once(lab, redis, remote):
    near = lab.serve(echo=None, name="near")
    lab.redis_bus(redis.url, [near])
    near_clients = [lab.connect(near) for _ in range(2)]
    far_clients = [lab.connect(f"ws://127.0.0.1:{remote}/") for _ in range(3)]
    assert near.broadcast("to everyone", everywhere=True) == 2
    for client in near_clients + far_clients:
        assert client.recv(timeout=5) == "to everyone"
    time.sleep(0.2)  # anything extra would have arrived by now
    assert all(not c.inbox for c in near_clients + far_clients)
    notes = [e.detail for e in lab.events.filter(who="near", kind="note")]
    assert "published 'to everyone' on bus 'redis'" in notes


def test_rooms_cross_processes_too(lab, redis):
    a, b = lab.serve(echo=None, name="a"), lab.serve(echo=None, name="b")
    lab.redis_bus(redis.url, [a], name="bus-a")
    lab.redis_bus(redis.url, [b], name="bus-b")  # two buses: as if a and b were two processes
    in_room, outside = lab.connect(b), lab.connect(b)
    b.join(in_room.conn, "python")
    a.broadcast("room only", room="python", everywhere=True)
    assert in_room.recv(timeout=5) == "room only"
    time.sleep(0.2)
    assert not outside.inbox


def test_presence_spans_processes_and_a_dead_process_drops_out(lab, redis):
    near = lab.serve(name="near")
    bus = lab.redis_bus(redis.url, [near])
    child = subprocess.Popen(
        [sys.executable, str(REMOTE), redis.url, "doomed", "0.4"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        alice = lab.connect(near)
        near.peer(alice.conn).meta["user"] = "alice"
        bob = lab.connect(f"ws://127.0.0.1:{port}/")
        assert bus.presence()["near"] == {alice.conn: {"user": "alice"}}
        wait_for(lambda: len(bus.presence().get("doomed", {})) == 1)
        child.kill()  # the process dies: no cleanup runs, its presence must expire by itself
        bob.wait_closed()
        wait_for(lambda: "doomed" not in bus.presence(), timeout=3)
        assert list(bus.presence()) == ["near"]
    finally:
        child.kill()
        child.wait(10)


def test_a_client_fails_over_to_the_other_server(lab, redis):
    a, b = lab.serve(name="a"), lab.serve(name="b")
    client = lab.connect([a, b], reconnect=wslab.Reconnect(base=0.05, jitter=0))
    assert client.peer_name == "a"
    a.kill()
    client.wait_open()
    assert client.peer_name == "b"
    client.send("hello b")
    assert client.recv() == "Serveur a reçu : hello b"


def test_memory_stays_bounded_under_a_ten_thousand_message_burst(redis, remote):
    with wslab.Lab(name="burst", capacity=5_000) as lab:
        near = lab.serve(echo=None, name="near")
        bus = lab.redis_bus(redis.url, [near])
        far = lab.connect(f"ws://127.0.0.1:{remote}/")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        async def burst() -> None:  # on the lab's loop, as a handler would broadcast
            for i in range(10_000):
                await near.abroadcast(f"m{i}", everywhere=True)

        started = time.monotonic()
        lab.bridge.block(burst(), 60, "burst")
        wait_for(lambda: len(far.inbox) == 10_000, timeout=60)
        print(f"10,000 cross-process broadcasts delivered in {time.monotonic() - started:.2f} s")
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert bus.published == 10_000
        assert len(lab.recorder) == 5_000 and lab.recorder.dropped > 0
        assert (rss_after - rss_before) / 1024 < 200, f"grew {(rss_after - rss_before) / 1024:.0f} MiB"


def test_a_killed_server_stays_listed_until_its_time_to_live_runs_out(lab, redis):
    """Presence expires by TTL: reading it does not delete the entry of a server that stopped."""

    doomed = lab.serve(name="doomed")
    bus = lab.redis_bus(redis.url, [doomed], name="ttl", prefix="ttl", presence_ttl=1.0, presence_every=0.2)
    alice = lab.connect(doomed)
    doomed.peer(alice.conn).meta["user"] = "alice"
    bus.refresh_presence()
    killed = time.monotonic()
    doomed.kill()
    assert bus.presence() == {"doomed": {alice.conn: {"user": "alice"}}}  # read twice: still there
    assert "doomed" in bus.presence()
    wait_for(lambda: "doomed" not in bus.presence(), timeout=3)
    gone_after = time.monotonic() - killed
    assert 1.0 - 0.2 - 0.1 <= gone_after <= 1.0 + 0.5, gone_after


def test_a_clean_close_removes_presence_at_once(lab, redis):

    server = lab.serve(name="tidy")
    watcher = lab.redis_bus(redis.url, name="watcher", prefix="tidy", presence_ttl=60, presence_every=30)
    bus = lab.redis_bus(redis.url, [server], name="tidy", prefix="tidy", presence_ttl=60, presence_every=30)
    lab.connect(server)
    assert list(watcher.presence()) == ["tidy"]
    bus.close()
    assert watcher.presence() == {}  # a TTL of 60 s: only the clean shutdown can explain this


def test_presence_settings_must_make_sense(lab, redis):

    with pytest.raises(ValueError):
        lab.redis_bus(redis.url, presence_ttl=1.0, presence_every=1.0)


def test_chat_servers_in_separate_processes_share_broadcasts_rooms_and_presence(lab, redis):
    from wslab.redis_bus import spawn_server

    paris = spawn_server(redis.url, "paris", presence_ttl=1.5, presence_every=0.3)
    lyon = spawn_server(redis.url, "lyon", presence_ttl=1.5, presence_every=0.3)
    try:
        assert paris.process.pid != lyon.process.pid and paris.running and lyon.running
        watcher = lab.redis_bus(redis.url, name="watcher")
        policy = wslab.Reconnect(base=0.05, jitter=0)
        alice = lab.connect([paris.url, lyon.url], reconnect=policy)
        carol = lab.connect([lyon.url, paris.url], reconnect=policy)
        alice.send('{"hello": "Alice"}')
        assert alice.recv() == "welcome Alice, this is paris"
        carol.send('{"hello": "Carol"}')
        assert carol.recv() == "welcome Carol, this is lyon"
        assert watcher.presence() == {"lyon": {"c1": {"user": "Carol"}}, "paris": {"c1": {"user": "Alice"}}}
        carol.send('{"say": "salut"}')
        assert alice.recv() == carol.recv() == "Carol: salut"
        alice.send('{"join": "python"}')
        assert alice.recv() == "Alice joined python on paris"
        carol.send('{"say": "room only", "room": "python"}')
        assert alice.recv() == "Carol: room only"
        time.sleep(0.2)
        assert not carol.inbox  # carol is not in the room
        # a crash: SIGKILL, no cleanup; alice fails over, paris's entry expires by its TTL
        killed = time.monotonic()
        paris.kill()
        assert repr(paris) == "<ServerProcess 'paris' killed>"
        assert "paris" in watcher.presence()
        alice.wait_open()
        alice.send('{"hello": "Alice"}')
        assert alice.recv() == "welcome Alice, this is lyon"
        wait_for(lambda: "paris" not in watcher.presence(), timeout=4)
        assert 1.5 - 0.3 - 0.1 <= time.monotonic() - killed <= 1.5 + 0.8
        # a clean shutdown deletes at once, far sooner than the TTL
        assert "lyon" in watcher.presence()
        for client in (alice, carol):
            client.close()
        lyon.stop()
        assert lyon.process.returncode == 0 and watcher.presence() == {}
        assert repr(lyon) == "<ServerProcess 'lyon' stopped>"
    finally:
        paris.kill()
        lyon.kill()


def test_a_server_process_that_cannot_start_says_why():
    from wslab.errors import WslabError
    from wslab.redis_bus import ServerProcess

    with pytest.raises(WslabError, match="did not start"):
        ServerProcess("redis://127.0.0.1:1/0", "nowhere", timeout=20)
