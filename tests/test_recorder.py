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
