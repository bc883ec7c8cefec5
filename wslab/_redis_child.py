"""``python -m wslab._redis_child``: one chat server of ``spawn_server``, in a process of its own.

It builds its own lab, so it sits above ``wslab.lab`` (a program, like the CLI), not in the bus.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .lab import Lab
from .redis_bus import chat_handler

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m wslab._redis_child REDIS_URL NAME [--ttl S] [--every S] [--prefix P]``.

    Serves the chat of :func:`spawn_server` on a free loopback port, prints the port on one line,
    and runs until its standard input closes; then it shuts down cleanly.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m wslab._redis_child", description=main.__doc__)
    parser.add_argument("redis_url")
    parser.add_argument("name")
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--prefix", default="wslab")
    args = parser.parse_args(argv)
    with Lab(name=f"process-{args.name}") as lab:
        bus = lab.redis_bus(
            args.redis_url,
            name=f"bus-{args.name}",
            prefix=args.prefix,
            presence_ttl=args.ttl,
            presence_every=args.every,
        )
        server = lab.serve(chat_handler(bus), name=args.name)
        bus.attach(server)
        bus.refresh_presence()
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
