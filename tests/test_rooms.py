"""Rooms, presence, targeted broadcast, a pool of servers and the bus that links them."""

import asyncio
import time

import pytest

import wslab
from wslab.rooms import Bus, BusMessage, LocalBus, Pool


def notes(lab: wslab.Lab) -> list[str]:
    return [e.detail or "" for e in lab.events.filter(kind="note")]


def inboxes(*clients: wslab.Client) -> dict[str, list[object]]:
    return {c.name: list(c.inbox) for c in clients}


def silent(lab: wslab.Lab, name: str = "server") -> wslab.Server:
    """A server that answers nothing, so inboxes hold only what a broadcast sent."""
    return lab.serve(echo=None, name=name)


def test_a_connection_joins_and_leaves_a_room_with_a_note_for_each(lab):
    server = silent(lab)
    client = lab.connect(server)
    assert server.join("c1", "python") is True
    assert server.rooms == {"python": ["c1"]}
    assert server.rooms_of("c1") == ["python"]
    assert server.leave("c1", "python") is True
    assert server.rooms == {}
    assert notes(lab) == ["c1 joined room 'python'", "c1 left room 'python'"]
    assert [e.conn for e in lab.events.filter(kind="note")] == ["c1", "c1"]
    client.close()


def test_a_connection_hook_can_put_every_newcomer_in_a_room(lab):
    server = silent(lab)
    server.on("connection", lambda event: server.join(event.conn, "<lobby>"))
    lab.connect(server)
    lab.connect(server)
    assert server.rooms == {"<lobby>": ["c1", "c2"]}
    html = lab.events.filter(kind="note")._repr_html_()
    assert "&lt;lobby&gt;" in html and "<lobby>" not in html


def test_joining_twice_or_leaving_a_room_not_joined_changes_nothing(lab):
    server = silent(lab)
    lab.connect(server)
    server.join("c1", "python")
    assert server.join("c1", "python") is False
    assert server.leave("c1", "rust") is False
    assert server.rooms == {"python": ["c1"]}
    assert len(notes(lab)) == 1


def test_a_closed_connection_leaves_every_room_and_cannot_join_again(lab):
    server = silent(lab)
    first, second = lab.connect(server), lab.connect(server)
    for room in ("python", "rust"):
        server.join("c1", room)
    server.join("c2", "python")
    first.close()
    assert server.rooms == {"python": ["c2"]}
    assert notes(lab)[-2:] == ["c1 left room 'python' (closed)", "c1 left room 'rust' (closed)"]
    with pytest.raises(wslab.NotConnected):
        server.join("c1", "go")
    other = silent(lab, "other")
    lab.connect(other)
    with pytest.raises(wslab.NotConnected, match="on other, not on server"):
        server.join(other.peer("c3"), "python")
    second.close()
    assert server.rooms == {}


def test_a_room_broadcast_reaches_exactly_the_room(lab):
    server = silent(lab)
    ana, ben, cleo = (lab.connect(server, name=n) for n in ("ana", "ben", "cleo"))
    server.join("c1", "python")
    server.join("c3", "python")
    assert server.broadcast("pour python", room="python") == 2
    assert inboxes(ana, ben, cleo) == {"ana": ["pour python"], "ben": [], "cleo": ["pour python"]}
    assert server.broadcast("personne", room="empty") == 0


def test_a_broadcast_without_a_room_reaches_every_open_connection_except_the_excluded(lab):
    server = silent(lab)
    ana, ben, cleo = (lab.connect(server, name=n) for n in ("ana", "ben", "cleo"))
    cleo.close()
    assert server.broadcast("à tous") == 2
    assert server.broadcast("sauf ana", exclude="c1") == 1
    assert server.broadcast("sauf ben", exclude=server.peer("c2")) == 1
    assert inboxes(ana, ben) == {"ana": ["à tous", "sauf ben"], "ben": ["à tous", "sauf ana"]}


def test_presence_lists_open_connections_with_the_meta_hooks_and_handlers_set(lab):
    def name_yourself(message, peer):
        peer.meta["user"] = message
        peer.server.join(peer, "chat")

    server = lab.serve(name_yourself, echo=None)

    @server.on("connection")
    def stamp(event):
        server.peer(event.conn).meta["since"] = event.time

    ana, ben = lab.connect(server), lab.connect(server)
    ana.send("ana")
    t1, t2 = (e.time for e in lab.events.filter(kind="connection"))
    assert server.presence() == {"c1": {"since": t1, "user": "ana"}, "c2": {"since": t2}}
    assert server.presence(room="chat") == {"c1": {"since": t1, "user": "ana"}}
    ana.close()
    assert server.presence() == {"c2": {"since": t2}}
    ben.close()


def test_a_handler_broadcasts_to_its_room_with_await_and_returns_without_waiting(lab):
    async def relay(message, peer):
        if message.startswith("/join "):
            peer.server.join(peer, message[6:])
            return None
        for room in peer.server.rooms_of(peer):
            await peer.server.abroadcast(f"{peer.id}: {message}", room=room, exclude=peer)
        return None

    server = lab.serve(relay, echo=None)
    ana, ben, cleo = (lab.connect(server, name=n) for n in ("ana", "ben", "cleo"))
    ana.send("/join python")
    ben.send("/join python")
    started = time.perf_counter()
    ana.send("salut")
    assert time.perf_counter() - started < lab.settle_timeout / 2  # no wait for its own settle
    assert inboxes(ana, ben, cleo) == {"ana": [], "ben": ["c1: salut"], "cleo": []}


def test_a_round_robin_pool_takes_the_servers_in_turn(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    pool = Pool([a, b])
    for _ in range(3):
        pool.connect()
    assert pool.connections == {"a": ["c1", "c3"], "b": ["c2"]}
    assert notes(lab)[0] == "pool sends the next client here (round robin)"
    assert repr(pool) == "<Pool 'pool' round-robin: a 2, b 1>"


def test_a_least_connections_pool_takes_the_emptiest_server(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    lab.connect(a)
    lab.connect(a)
    pool = Pool([a, b], "least-connections")
    pool.connect()
    pool.connect()
    assert pool.connections == {"a": ["c1", "c2"], "b": ["c3", "c4"]}
    assert notes(lab) == [
        "pool sends the next client here (least connections: a 2, b 0)",
        "pool sends the next client here (least connections: a 2, b 1)",
    ]
    with pytest.raises(ValueError):
        Pool([a, b], "random")  # type: ignore[arg-type]


def test_without_a_bus_each_server_only_knows_and_reaches_its_own_clients(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    pool = Pool([a, b])
    clients = [pool.connect(name=n) for n in ("ana", "ben")]
    a.broadcast("depuis a")
    assert inboxes(*clients) == {"ana": ["depuis a"], "ben": []}
    assert list(a.presence()) == ["c1"]
    with pytest.raises(wslab.WslabError):
        a.broadcast("partout", everywhere=True)
    with pytest.raises(wslab.WslabError):
        a.presence(everywhere=True)


def test_a_bus_broadcast_reaches_every_client_of_both_servers_exactly_once(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    pool = Pool([a, b])
    clients = [pool.connect(name=n) for n in ("ana", "ben", "cleo", "dan")]
    bus = LocalBus([a, b])
    assert isinstance(bus, Bus)
    assert a.broadcast("partout", everywhere=True) == 2
    assert inboxes(*clients) == {n: ["partout"] for n in ("ana", "ben", "cleo", "dan")}
    assert bus.published == 1
    assert notes(lab)[-2:] == ["published 'partout' on bus 'bus'", "bus 'bus' brought 'partout' from a"]
    crossing = lab.events.filter(kind="note")[-1]
    assert (crossing.side, crossing.endpoint) == ("server", "b")


def test_a_bus_broadcast_keeps_its_room_and_its_exclusion_on_the_other_server(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    pool = Pool([a, b])
    clients = [pool.connect(name=n) for n in ("ana", "ben", "cleo", "dan")]
    for conn, server in (("c1", a), ("c2", b), ("c4", b)):
        server.join(conn, "python")
    LocalBus([a, b])
    b.broadcast(b"\x00py", room="python", exclude="c2", everywhere=True)
    assert inboxes(*clients) == {"ana": [b"\x00py"], "ben": [], "cleo": [], "dan": [b"\x00py"]}
    assert a.presence(room="python", everywhere=True) == {"c1": {}, "c2": {}, "c4": {}}


def test_a_detached_server_is_alone_again(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    ana, ben = lab.connect(a, name="ana"), lab.connect(b, name="ben")
    bus = LocalBus([a, b])
    b.detach()
    a.broadcast("seul", everywhere=True)
    assert inboxes(ana, ben) == {"ana": ["seul"], "ben": []}
    assert bus.servers == [a]
    assert notes(lab)[-1] == "published 'seul' on bus 'bus'"


def test_the_async_twins_work_from_another_event_loop_like_a_notebook_cell(lab):
    a, b = silent(lab, "a"), silent(lab, "b")
    LocalBus([a, b])
    pool = Pool([a, b], "least-connections")

    async def cell():
        ana, ben = await pool.aconnect(name="ana"), await pool.aconnect(name="ben")
        sent = await a.abroadcast("depuis une cellule", everywhere=True)
        return sent, inboxes(ana, ben)

    assert asyncio.run(cell()) == (1, {"ana": ["depuis une cellule"], "ben": ["depuis une cellule"]})


def test_a_local_bus_refuses_servers_of_another_lab(lab):
    bus = LocalBus([silent(lab, "a")])
    with wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="other") as other:
        elsewhere = silent(other, "b")
        with pytest.raises(wslab.WslabError, match="another lab"):
            bus.attach(elsewhere)
        assert elsewhere.bus is None


@pytest.mark.parametrize("data", ["texte é", b"\x00\xff"])
def test_a_bus_message_survives_json_for_a_cross_process_backend(data):
    message = BusMessage(origin="a", data=data, room="python", exclude="c1")
    assert BusMessage.from_json(message.to_json()) == message
