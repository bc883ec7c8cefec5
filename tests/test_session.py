"""Session bookkeeping without sockets: ids, names, pairing, claims."""

from __future__ import annotations

from wslab._session import Limits, Session


def session() -> Session:
    return Session(Limits(timeout=1.0, settle=0.1))


def test_connection_ids_count_up_and_names_number_on() -> None:
    s = session()
    assert [s.new_conn_id() for _ in range(3)] == ["c1", "c2", "c3"]
    assert s.unique(None, "client", []) == "client"
    assert s.unique(None, "client", ["client"]) == "client2"
    assert s.unique(None, "client", ["client", "client2"]) == "client3"


def test_a_client_of_ours_is_paired_only_with_a_server_of_ours() -> None:
    s = session()
    s.servers.add("server")
    s.expect("c1", ("127.0.0.1", 5001), "alice", "server")
    s.expect("c2", ("127.0.0.1", 5002), "bob", "elsewhere")
    assert s.pairs["c1"].server == "server" and s.pairs["c2"].server is None
    assert s.claim(("127.0.0.1", 5001), "server") == ("c1", "alice")


def test_a_stranger_gets_a_new_id_and_a_claimed_path_is_used_once() -> None:
    s = session()
    s.claim_path("/page", "c7", "page", "server")
    assert s.claim(("127.0.0.1", 9), "server", "/page") == ("c7", "page")
    assert s.claim(("127.0.0.1", 9), "server", "/page") == ("c1", "peer-c1")


def test_the_addresses_kept_for_late_claims_are_bounded() -> None:
    s = session()
    for port in range(3000):
        s.expect(f"c{port}", ("127.0.0.1", port), "x", None)
    assert len(s.expected) <= 1000
    assert ("127.0.0.1", 2999) in s.expected and ("127.0.0.1", 0) not in s.expected


def test_a_claimed_path_wins_over_a_stale_address_on_the_same_port() -> None:
    # An address stays after a client of ours connected to a Node server (for Node's late report); the
    # system may later give that port to a Node client or a page that claimed its path.
    s = session()
    s.expect("c1", ("127.0.0.1", 5001), "alice", None)  # alice went to a server not ours, long ago
    s.claim_path("/shouter", "c9", "shouter", "loud")
    assert s.claim(("127.0.0.1", 5001), "loud", "/shouter") == ("c9", "shouter")
    assert ("127.0.0.1", 5001) not in s.expected
