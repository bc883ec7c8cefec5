"""A wslab server in another process, linked to a Redis bus: the far side of cross-process tests.

Usage: python remote_server.py REDIS_URL NAME [PRESENCE_TTL]. Prints the server's port on one
line, then serves until its standard input closes.
"""

import sys

import wslab


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    with wslab.Lab(name=f"remote-{name}") as lab:
        server = lab.serve(echo=None, name=name)
        bus = lab.redis_bus(url, [server])
        if len(sys.argv) > 3:
            bus.presence_ttl = float(sys.argv[3])
            bus.presence_every = bus.presence_ttl / 4
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
