"""The bridge and ``twin``: one timeout rule for a blocking call and its async twin, in or out of a loop."""

from __future__ import annotations

import asyncio
import time

import pytest

import wslab
from wslab import Lab, LoopError
from wslab._bridge import Bridge, Limits, LoopThread, twin


class Sleeper:
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def asleep_for(self, seconds: float, *, timeout: float | None = None) -> float:
        """Sleep on the lab's loop."""
        await self.bridge.run(asyncio.sleep(seconds), timeout, "sleep_for")
        return seconds

    sleep_for = twin(asleep_for)


@pytest.fixture
def sleeper() -> Sleeper:
    loop = LoopThread(name="wslab-test-bridge")
    yield Sleeper(Bridge(loop, Limits(timeout=0.3, settle=0.1)))
    loop.stop()


def test_the_twin_has_the_async_methods_arguments_and_result(sleeper: Sleeper) -> None:
    assert sleeper.sleep_for(0.01) == 0.01
    assert Sleeper.sleep_for.__name__ == "sleep_for"
    assert "Sleep on the lab's loop" in (Sleeper.sleep_for.__doc__ or "")


def test_both_twins_are_bounded_by_the_same_rule(sleeper: Sleeper) -> None:
    started = time.monotonic()
    with pytest.raises(wslab.WslabTimeout):
        sleeper.sleep_for(5)  # the lab's 0.3 s plus 0.1 s of settling
    assert time.monotonic() - started < 2
    assert sleeper.sleep_for(0.5, timeout=1.0) == 0.5  # a longer timeout of its own is honoured

    async def from_another_loop() -> None:
        with pytest.raises(wslab.WslabTimeout):
            await sleeper.asleep_for(5)

    asyncio.run(from_another_loop())


def test_a_closed_bridge_refuses_calls(sleeper: Sleeper) -> None:
    sleeper.bridge.closed = True
    with pytest.raises(wslab.WslabError, match="closed"):
        sleeper.sleep_for(0.01)


def test_a_blocking_call_from_inside_the_loop_is_refused(lab):
    client = lab.connect(lab.serve())
    caught: list[BaseException] = []

    def hook(event):
        try:
            client.send("from inside")
        except LoopError as exc:
            caught.append(exc)

    client.on("message", hook)
    client.send("go")
    assert len(caught) == 1
    assert "use 'await ….asend()' there instead" in str(caught[0])


def test_async_twins_work_under_asyncio_run():
    async def main() -> list[str]:
        async with Lab(clock="logical", name="async") as lab:
            server = await lab.aserve()
            client = await lab.aconnect(server)
            await client.asend("async hi")
            reply = await client.arecv()
            await client.aclose()
            return [reply, *lab.events.kinds()[-2:]]

    assert asyncio.run(main()) == ["Serveur a reçu : async hi", "server:close", "client:close"]


def test_blocking_calls_work_inside_a_running_loop_like_a_kernel_cell():
    async def cell() -> str:
        with Lab(clock="logical", name="kernel-like") as lab:
            client = lab.connect(lab.serve())
            client.send("sync in a running loop")
            return client.recv()

    assert asyncio.run(cell()) == "Serveur a reçu : sync in a running loop"
