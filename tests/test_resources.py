"""lab.resources(): the lab's own sockets, tasks and threads, counted the same way on every OS."""

import socket
import threading

import psutil

import wslab
from wslab.resources import Resources, lab_ports, process_sockets


def test_a_fresh_lab_holds_its_loop_thread_and_no_socket():
    with wslab.Lab(name="fresh") as lab:
        held = lab.resources()
        assert held.threads == 1 and held.sockets == 0
        assert any(t.name == "wslab-fresh" for t in threading.enumerate())


def test_every_connection_is_two_sockets_and_a_server_one_more(lab):
    server = lab.serve()
    assert lab.resources().sockets == 1  # the listening socket
    clients = [lab.connect(server) for _ in range(3)]
    held = lab.resources()
    assert held.sockets == 1 + 2 * len(clients)  # each connection: the client's end and the server's
    assert held.tasks >= len(clients)  # at least one reader task per client
    # the same count, taken independently of wslab: psutil over this process's sockets
    ours = {server.port}
    direct = [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.laddr.port in ours or (c.raddr and c.raddr.port in ours)
    ]
    assert len(direct) == held.sockets


def test_a_closed_lab_holds_nothing_even_after_faults():
    before = threading.active_count()
    lab = wslab.Lab(name="faulty", clock="logical")
    server = lab.serve()
    clients = [lab.connect(server) for _ in range(3)]
    clients[0].drop()
    server.fail_next(RuntimeError("boom"))
    clients[1].send("x")
    clients[1].wait_closed()
    during = lab.resources()
    ports = lab_ports(lab)
    assert during.sockets >= 3 and during.tasks > 0 and during.threads == 1
    lab.close()
    after = lab.resources()
    assert after == Resources(sockets=0, tasks=0, threads=0) and after.released
    assert process_sockets(ports) == 0
    assert threading.active_count() == before


def test_a_socket_outside_the_lab_is_not_counted(lab):
    server = lab.serve()
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        assert lab.resources().sockets == 1
        assert process_sockets([stranger.getsockname()[1]]) == 1
    assert server.serving


def test_the_repr_reads_as_a_sentence():
    assert repr(Resources(sockets=1, tasks=2, threads=1)) == "<Resources: 1 open socket, 2 tasks, 1 thread>"
    assert repr(Resources(0, 0, 0)) == "<Resources: 0 open sockets, 0 tasks, 0 threads>"
