"""A private asyncio loop in a daemon thread: the one loop design that works everywhere.

Why not ``nest_asyncio``: it patches the running loop, is archived (ipykernel moved to a fork),
and breaks on newer Pythons. A loop of our own in a thread works the same in JupyterLab, under
nbval, in a plain script and inside ``asyncio.run``: blocking calls wait on a
``concurrent.futures.Future`` (with a timeout), async calls ``await`` a wrapped one. The only
call that could deadlock, a blocking call made from this loop's own thread (in a hook or a
handler), is refused with :class:`~wslab.errors.LoopError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import LoopError, WslabError, WslabTimeout
from .i18n import _

__all__ = ["LoopThread", "blocks_in_loop"]

T = TypeVar("T")

_GRACE = 5.0  # seconds a blocking call waits past its own timeout before giving up on the loop


def blocks_in_loop(what: str) -> str:
    """Why ``what()`` is refused inside the lab's own loop, and what to call there instead."""
    # i18n: {what} is a blocking wslab call (recv, connect…); a{what} is its awaitable twin (arecv…)
    words = _(
        "{what}() blocks, so it cannot be called from inside the lab's event loop "
        "(a hook or a handler): use 'await ….a{what}()' there instead"
    )
    return words.format(what=what)


class LoopThread:
    """Owns one event loop running forever in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str = "wslab-loop") -> None:
        self._ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def in_loop(self) -> bool:
        """True when called from this loop's own thread."""
        return threading.get_ident() == self._thread.ident

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None, what: str) -> T:
        """Run ``coro`` on the loop and block until it is done (never from the loop itself)."""
        if self.in_loop():
            coro.close()
            raise LoopError(blocks_in_loop(what))
        if not self.alive:
            coro.close()
            raise WslabError(_("this lab is closed"))
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(None if timeout is None else timeout + _GRACE)
        except TimeoutError:
            if future.done():  # the coroutine itself timed out and said why
                raise
            future.cancel()
            # i18n: {what} is the name of the wslab call that ran too long, e.g. recv or connect
            words = _("{what}() did not finish in {timeout} s")
            raise WslabTimeout(words.format(what=what, timeout=timeout)) from None
        except BaseException:
            future.cancel()
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the lab's loop from any loop (or directly when already on it)."""
        if self.in_loop():
            return await coro
        if not self.alive:
            coro.close()
            raise WslabError(_("this lab is closed"))
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is left, stop the loop and join its thread."""
        if not self.alive:
            return
        if self.in_loop():
            raise LoopError(
                _("a lab cannot be closed from inside its own event loop: use 'await lab.aclose()'")
            )

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
