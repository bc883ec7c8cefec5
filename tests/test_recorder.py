"""The recorder numbers events, keeps a bounded ring, counts drops and feeds subscribers."""

import threading

import pytest

from wslab.recorder import LogicalClock, Recorder, WallClock


def record_n(recorder: Recorder, n: int) -> None:
    for i in range(n):
        recorder.record(side="client", kind="send", endpoint="client", data=str(i), size=len(str(i)))


def test_sequence_numbers_are_contiguous_from_one():
    recorder = Recorder(clock=LogicalClock())
    record_n(recorder, 5)
    assert [e.seq for e in recorder.snapshot()] == [1, 2, 3, 4, 5]


def test_ring_buffer_keeps_the_newest_and_counts_every_drop():
    recorder = Recorder(capacity=3, clock=LogicalClock())
    record_n(recorder, 10)
    log = recorder.snapshot()
    assert [e.seq for e in log] == [8, 9, 10]
    assert recorder.dropped == 7 == log.dropped
    assert recorder.total == 10
    assert "7 oldest events dropped" in log.to_text()


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        Recorder(capacity=0)


def test_logical_clock_gives_the_same_times_every_run():
    def run() -> list[tuple[int, int]]:
        recorder = Recorder(clock=LogicalClock())
        record_n(recorder, 4)
        return [(e.seq, e.time) for e in recorder.snapshot()]

    assert run() == run() == [(1, 1), (2, 2), (3, 3), (4, 4)]


def test_wall_clock_counts_microseconds_upwards():
    clock = WallClock()
    first, second = clock(), clock()
    assert 0 <= first <= second


def test_subscribers_see_every_event_and_can_unsubscribe():
    recorder = Recorder(clock=LogicalClock())
    seen: list[int] = []
    unsubscribe = recorder.subscribe(lambda e: seen.append(e.seq))
    record_n(recorder, 2)
    unsubscribe()
    record_n(recorder, 2)
    assert seen == [1, 2]


def test_a_failing_subscriber_never_stops_recording():
    recorder = Recorder(clock=LogicalClock())

    def broken(event: object) -> None:
        raise RuntimeError("view exploded")

    recorder.subscribe(broken)
    record_n(recorder, 3)
    assert recorder.total == 3
    assert recorder.subscriber_errors == 3
    assert isinstance(recorder.last_subscriber_error, RuntimeError)


def test_since_returns_only_newer_events_even_after_drops():
    recorder = Recorder(capacity=4, clock=LogicalClock())
    record_n(recorder, 6)
    assert [e.seq for e in recorder.since(0)] == [3, 4, 5, 6]
    assert [e.seq for e in recorder.since(4)] == [5, 6]
    assert recorder.since(6) == []


def test_clear_forgets_events_but_never_renumbers():
    recorder = Recorder(clock=LogicalClock())
    record_n(recorder, 2)
    recorder.clear()
    record_n(recorder, 1)
    assert [e.seq for e in recorder.snapshot()] == [3]
    assert recorder.cleared == 2 and recorder.dropped == 0


def test_recording_from_many_threads_loses_nothing():
    recorder = Recorder(clock=LogicalClock())
    threads = [threading.Thread(target=record_n, args=(recorder, 500)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in recorder.snapshot()] == list(range(1, 2001))


def test_the_hot_path_note_makes_the_same_events_as_record():
    """``_note`` (the server's per-message path) numbers, drops, publishes like ``record``."""
    slow, fast = Recorder(capacity=3, clock=LogicalClock()), Recorder(capacity=3, clock=LogicalClock())
    seen: list[object] = []
    fast.subscribe(seen.append)
    for i in range(5):
        fields = {
            "side": "server",
            "kind": "message",
            "endpoint": "s",
            "conn": "c1",
            "peer": "p",
            "data": f"m{i}",
        }
        slow.record(**fields, size=2)
        fast._note("server", "message", "s", "c1", "p", f"m{i}", 2)
    assert list(fast.snapshot()) == list(slow.snapshot())
    assert repr(fast.snapshot()[-1]) == repr(slow.snapshot()[-1])
    assert fast.dropped == slow.dropped == 2 and fast.total == 5
    assert [e.seq for e in seen] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]


def test_note_from_many_threads_keeps_seq_contiguous():
    recorder = Recorder(clock=LogicalClock())

    def note_n() -> None:
        for i in range(500):
            recorder._note("client", "send", "client", None, None, str(i), 1)

    threads = [threading.Thread(target=note_n) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in recorder.snapshot()] == list(range(1, 2001))


def _jot_and_record(capacity: int, n: int) -> tuple[Recorder, Recorder]:
    lazy, eager = (
        Recorder(capacity=capacity, clock=LogicalClock()),
        Recorder(capacity=capacity, clock=LogicalClock()),
    )
    for i in range(n):
        lazy._jot("server", "send", "s", "c1", "p", f"m{i}", 2)
        eager.record(side="server", kind="send", endpoint="s", conn="c1", peer="p", data=f"m{i}", size=2)
        if i % 3 == 0:  # an event with headers, recorded the usual way, between the lazy ones
            lazy.record(side="server", kind="upgrade", endpoint="s", headers=(("Cookie", "x"),))
            eager.record(side="server", kind="upgrade", endpoint="s", headers=(("Cookie", "x"),))
    return lazy, eager


def test_jotted_events_read_back_as_the_same_events():
    """``_jot`` keeps a tuple until the ring is read: what a reader gets is what ``record`` made."""
    lazy, eager = _jot_and_record(capacity=100, n=20)
    assert lazy.since(20) == eager.since(20)
    assert [repr(e) for e in lazy.snapshot()] == [repr(e) for e in eager.snapshot()]
    assert lazy.snapshot() == eager.snapshot() and lazy.total == eager.total == 27
    assert lazy.since(26) == eager.since(26) and len(lazy.since(26)) == 1
    assert lazy.since(27) == []


def test_jotted_events_keep_drops_clear_and_numbering():
    lazy, eager = _jot_and_record(capacity=5, n=30)
    assert lazy.dropped == eager.dropped == 35 and len(lazy) == 5
    assert lazy.snapshot() == eager.snapshot()
    lazy._jot("client", "message", "c", None, None, "x", 1)
    lazy.clear()
    lazy._jot("client", "message", "c", None, None, "y", 1)
    assert lazy.cleared == 5 and lazy.dropped == 36 and [e.seq for e in lazy.snapshot()] == [42]


def test_jot_publishes_an_event_when_someone_subscribed():
    recorder = Recorder(clock=LogicalClock())
    seen: list[object] = []
    recorder.subscribe(seen.append)
    recorder._jot("server", "message", "s", "c1", "p", "hi", 2)
    assert seen == list(recorder.snapshot()) and seen[0].data == "hi"  # type: ignore[attr-defined]


def test_jot_from_many_threads_while_a_reader_follows():
    recorder = Recorder(clock=LogicalClock())
    got: list[int] = []
    done = threading.Event()

    def follow() -> None:
        last = 0
        while not done.is_set() or recorder.total > last:
            for event in recorder.since(last):
                got.append(event.seq)
                last = event.seq

    def jot_n() -> None:
        for i in range(500):
            recorder._jot("client", "send", "client", None, None, str(i), 1)

    reader = threading.Thread(target=follow)
    reader.start()
    threads = [threading.Thread(target=jot_n) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert got == list(range(1, 2001))
    assert [e.seq for e in recorder.snapshot()] == list(range(1, 2001))


def test_a_ring_of_only_real_events_is_never_rebuilt_by_readers():
    recorder = Recorder(clock=LogicalClock())
    record_n(recorder, 3)
    recorder._note("server", "send", "s", "c1", "p", "x", 1)
    assert recorder._thawed == recorder.total == 4  # since() and snapshot() have nothing to thaw
    recorder._jot("server", "send", "s", "c1", "p", "y", 1)
    assert recorder._thawed == 4
    assert [e.data for e in recorder.since(3)] == ["x", "y"] and recorder._thawed == 5


def test_a_payload_over_the_cap_keeps_its_head_and_its_real_size() -> None:
    recorder = Recorder(capacity=100, max_payload=10, payload_budget=1000)
    event = recorder.record(side="client", kind="send", endpoint="c", data=b"x" * 50, size=50)
    assert event.data == b"x" * 10 and event.size == 50
    recorder._jot("server", "message", "s", "c1", "c", "y" * 50, 50)
    recorder._note("server", "send", "s", "c1", "c", "z" * 50, 50)
    kept = recorder.snapshot()
    assert [e.data for e in kept][1:] == ["y" * 10, "z" * 10]
    assert recorder.truncated == 3


def test_the_payload_budget_drops_the_oldest_events_and_counts_them() -> None:
    recorder = Recorder(capacity=1000, max_payload=100, payload_budget=1000)
    for n in range(50):
        recorder._jot("server", "message", "s", "c1", "c", b"%03d" % n + b"." * 97, 100)
    assert recorder.payload_bytes <= 1000
    kept = recorder.snapshot()
    assert len(kept) == 10 and recorder.dropped == 40
    assert [e.seq for e in kept] == list(range(41, 51))  # the newest stay, numbered as recorded


def test_the_count_and_byte_budgets_agree_when_the_ring_wraps() -> None:
    recorder = Recorder(capacity=5, max_payload=10, payload_budget=1000)
    for _ in range(20):
        recorder.record(side="client", kind="send", endpoint="c", data="abcdefghij", size=10)
    assert recorder.payload_bytes == 50 and recorder.dropped == 15
    recorder.clear()
    assert recorder.payload_bytes == 0
