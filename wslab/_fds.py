"""File descriptors: raise the soft limit where the OS allows, and say plainly when they run out.

Each connection between a lab's own client and server takes two descriptors, and the common
default soft limit is 1,024 open files (256 on macOS). When they run out, a server's ``accept``
fails inside asyncio (printed to stderr, recorded nowhere) and the client waits for a handshake
that never comes. The lab raises the soft limit once, and checks the headroom before it opens a
connection, so the failure is an event that says what happened, at once.
"""

from __future__ import annotations

import errno
import sys

import psutil  # type: ignore[import-untyped,unused-ignore]

__all__ = ["RUN_OUT", "fd_usage", "headroom_error", "out_of_fds", "raise_fd_limit"]

RUN_OUT = frozenset({errno.EMFILE, errno.ENFILE})
"""The errnos of 'too many open files' (this process, or the whole system)."""

_MACOS_CAP = 10_240  # OPEN_MAX: macOS refuses a soft limit above it even when the hard one is unlimited
_ENOUGH = 65_536


def raise_fd_limit() -> tuple[int, int] | None:
    """Raise the soft ``RLIMIT_NOFILE`` towards the hard limit; the (soft, hard) now, or None (Windows)."""
    try:
        import resource
    except ImportError:  # Windows: no rlimit; the C runtime's own limit is high enough
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _ENOUGH if hard == resource.RLIM_INFINITY else min(hard, _ENOUGH)
    if sys.platform == "darwin":
        wanted = min(wanted, _MACOS_CAP)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # not allowed here: keep what we have, the checks still hold
            pass
    return int(soft), int(hard)


def fd_usage() -> tuple[int, int | None]:
    """How many descriptors this process has open, and its soft limit (None where there is none)."""
    try:
        import resource
    except ImportError:
        return int(psutil.Process().num_handles()), None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limit = None if soft == resource.RLIM_INFINITY else int(soft)
    try:
        open_now = int(psutil.Process().num_fds())
    except OSError:  # counting needs a descriptor too: with none left, the table is full
        open_now = limit if limit is not None else 0
    return open_now, limit


def out_of_fds(open_now: int | None = None, limit: int | None = None) -> str:
    """``too many open files: 1021 open, limit 1024``, measured now unless given."""
    if open_now is None:
        open_now, limit = fd_usage()
    return f"too many open files: {open_now} open, limit {limit if limit is not None else 'none'}"


_PLENTY = 16_384
"""A soft limit this high is not reached by a lesson: skip counting (it costs a directory listing)."""


def headroom_error(needed: int) -> str | None:
    """Words for the failure when fewer than ``needed`` descriptors are left, else None.

    Cheap where it matters: with a high soft limit (the usual case once raised) nothing is counted;
    a server's failed ``accept`` is still recorded by the lab, whatever the limit.
    """
    try:
        import resource
    except ImportError:  # Windows: no per-process soft limit to run into
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= _PLENTY:
        return None
    open_now, limit = fd_usage()
    if limit is None or open_now + needed <= limit:
        return None
    return out_of_fds(open_now, limit)
