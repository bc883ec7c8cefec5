"""What wslab prints, in French: the catalogue is complete and compiled, a French lab prints French."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from websockets.frames import CLOSE_CODE_EXPLANATIONS

import wslab
from wslab import i18n
from wslab.lifecycle import WEBSOCKETS_EXPLANATIONS, explain_close_code

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "wslab" / "locale" / "fr" / "LC_MESSAGES" / "wslab.po"
MO = PO.with_suffix(".mo")


@pytest.fixture
def english_after() -> Iterator[None]:
    yield
    wslab.set_language("en")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the catalogue ---------------------------------------------------------------------------------


def test_every_message_in_the_catalogue_has_a_french_translation() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f)
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 100
    for message in messages:
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id


def test_the_catalogue_holds_every_message_the_code_marks() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "i18n.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_no_message_is_marked_inside_an_f_string() -> None:
    # Babel reads inside f-strings only on Python 3.12 and newer (PEP 701), so a message marked there is
    # missing from a catalogue made on 3.11 and printed in English.
    inside = re.compile(r"""\{[^{}'"]*\b(?:N_|_|ngettext)\(\s*['"]""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "wslab").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if inside.search(line)
    ]
    assert not found, found


def test_the_compiled_mo_matches_the_po(tmp_path: Path) -> None:
    from babel.messages.mofile import write_mo

    with PO.open("rb") as f:
        catalogue = read_po(f)
    fresh = tmp_path / "wslab.mo"
    with fresh.open("wb") as f:
        write_mo(f, catalogue)  # what `pybabel compile` writes
    assert fresh.read_bytes() == MO.read_bytes(), "the .mo is stale: run python tools/i18n.py"
    with MO.open("rb") as f:
        assert len(read_mo(f)) == len(catalogue)


def test_the_placeholders_of_each_translation_are_the_messages() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    with PO.open("rb") as f:
        catalogue = read_po(f)
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(fields(i) for i in ids))
        for text in strings:
            assert fields(text) <= wanted, (message.id, text)


def test_websockets_own_close_meanings_are_in_the_catalogue() -> None:
    assert set(CLOSE_CODE_EXPLANATIONS.values()) <= set(WEBSOCKETS_EXPLANATIONS)


# --- the setting ------------------------------------------------------------------------------------


def test_the_language_is_english_by_default_and_set_for_the_process(english_after: None) -> None:
    assert wslab.get_language() == "en"
    assert explain_close_code(1000) == "normal closure"
    wslab.set_language("fr_FR.UTF-8")
    assert wslab.get_language() == "fr"
    assert explain_close_code(1000) == "fermeture normale"
    wslab.set_language("en")
    assert explain_close_code(1000) == "normal closure"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language must be one of en, fr"):
        wslab.set_language("de")
    with pytest.raises(ValueError):
        wslab.Lab(lang="klingon", name="klingon")


def test_wslab_lang_sets_the_language_at_import() -> None:
    code = "import wslab; from wslab.lifecycle import explain_close_code as e; print(e(1001))"
    env = {"WSLAB_LANG": "fr", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.stdout.strip() == "départ (le pair s'en va)", out.stderr


def _import_in(folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import wslab; from wslab.lifecycle import explain_close_code as e; print(e(1001))"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=folder)


def test_a_wslab_toml_in_the_current_folder_sets_the_language(tmp_path: Path) -> None:
    (tmp_path / "wslab.toml").write_text('# French here\nlang = "fr"\n', encoding="utf-8")
    assert _import_in(tmp_path).stdout.strip() == "départ (le pair s'en va)"
    assert _import_in(tmp_path, {"WSLAB_LANG": "en"}).stdout.strip() == "going away"
    assert _import_in(tmp_path.parent).stdout.strip() == "going away"


def test_a_bad_wslab_toml_warns_and_leaves_english(tmp_path: Path) -> None:
    (tmp_path / "wslab.toml").write_text('lang = "de"\n', encoding="utf-8")
    out = _import_in(tmp_path)
    assert out.stdout.strip() == "going away"
    assert "wslab prints in English" in out.stderr and "language must be one of en, fr" in out.stderr
    (tmp_path / "wslab.toml").write_text("lang = [", encoding="utf-8")
    assert "wslab.toml" in _import_in(tmp_path).stderr


def test_the_french_lessons_folder_asks_for_french() -> None:
    assert i18n.language_of_folder(ROOT / "notebooks" / "fr") == "fr"
    assert i18n.language_of_folder(ROOT / "notebooks") is None


def test_the_i18n_module_is_pure() -> None:
    code = "import sys, wslab.i18n; print([m for m in ('asyncio', 'ipywidgets') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


# --- a French lab ---------------------------------------------------------------------------------


def test_a_french_labs_table_close_meanings_diagram_and_mermaid_are_french() -> None:
    with wslab.Lab(clock="logical", name="fr-seed", lang="fr") as lab:
        server = lab.serve(welcome="Bienvenue")
        client = lab.connect(server)
        client.send("Bonjour")
        client.close()
        events = lab.events
        text = events.to_text()
        html = events.to_html()
        diagram = lab.diagram()
        mermaid = lab.to_mermaid()
    assert events.lang == "fr"
    heading = text.splitlines()[0].split()
    assert heading == ["n°", "temps", "conn", "côté", "qui", "événement", "détails"]
    assert "1000 fermeture normale ; fermée par client" in text
    assert "(texte, 9 o)" in text  # octets
    assert "vers server /" in text
    assert "en-têtes)" in text
    assert ">événement</th>" in html
    for word in ("open", "close", "message", "connection", "connecting", "upgrade", "accept"):
        assert f" {word}" in text  # protocol words stay as the APIs spell them
    assert "Close 1000 fermeture normale (lancée par client)" in diagram.to_text()
    assert "Cycle de vie WebSocket" in diagram.svg
    assert "lignes de vie : client, server" in diagram.html()
    assert "Close 1000 fermeture normale (réponse)" in mermaid
    assert mermaid.startswith("sequenceDiagram\n")
    assert wslab.get_language() == "en"  # the lab's language is its own, not the process's
    assert "1000 normal closure" in wslab.EventLog(list(events)).to_text()


def test_a_french_labs_failed_connect_records_its_error_in_french() -> None:
    port = free_port()
    with wslab.Lab(clock="logical", name="fr-refused", lang="fr", timeout=3.0, settle=1.0) as lab:
        with pytest.raises(wslab.ConnectionFailed, match="aucune connexion TCP n'a été établie"):
            lab.connect(f"ws://127.0.0.1:{port}/", name="refused")
        text = lab.events.to_text()
        error = lab.events.filter(kind="error")[0].error or ""
    assert error.startswith("connexion refusée : rien n'écoute à ")
    assert "fermeture anormale : la connexion s'est terminée sans trame de fermeture" in text
    assert "la connexion ne s'est jamais ouverte" in text
    assert " error " in text and " close " in text  # the kinds stay as the browser names them


def test_a_french_labs_expect_feedback_is_french() -> None:
    with wslab.Lab(clock="logical", name="fr-expect", lang="fr") as lab:
        server = lab.serve()
        client = lab.connect(server)
        client.close()
        good = lab.expect("client:open", "client:close")
        bad = lab.expect("server:closing")
    assert str(good).startswith("✔ comme prévu : `open` côté client avant `close` côté client")
    assert "n° " in str(good)
    assert "✘ attendu : `closing` côté server" in str(bad)
    assert "mais `closing` côté server n'a jamais eu lieu" in str(bad)
    assert "indice : " in str(bad)


def test_switching_back_to_english_gives_the_english_output(english_after: None) -> None:
    def seed() -> tuple[str, str]:
        with wslab.Lab(clock="logical", name="switch") as lab:
            server = lab.serve()
            client = lab.connect(server)
            client.close()
            return lab.events.to_text(), str(lab.to_mermaid())

    english = seed()
    wslab.set_language("fr")
    french = seed()
    wslab.set_language("en")
    assert seed() == english
    assert french != english
    assert "fermeture normale" in french[0] and "fermeture normale" in french[1]
    assert "normal closure" in english[0]


def test_a_language_block_overrides_the_process_setting(english_after: None) -> None:
    wslab.set_language("fr")
    with i18n.language("en"):
        assert explain_close_code(1006).startswith("abnormal closure")
    assert explain_close_code(1006).startswith("fermeture anormale")


def test_the_handshake_table_and_the_connection_panel_follow_the_language(english_after: None) -> None:
    from wslab.lifecycle import summarize_connections
    from wslab.render import panel_text

    with wslab.Lab(clock="logical", name="fr-handshake") as lab:
        server = lab.serve()
        lab.connect(server)
        upgrade = lab.events.filter(kind="upgrade")[0]
        events = list(lab.events)
    english = str(wslab.handshake_table(upgrade))
    wslab.set_language("fr")
    french = str(wslab.handshake_table(upgrade))
    panel = panel_text(summarize_connections(events), 0, "server")
    assert "# which server the client wants (required by HTTP/1.1)" in english
    assert "# le serveur que veut le client (obligatoire en HTTP/1.1)" in french
    assert "<16 octets aléatoires en base64 : nouveaux à chaque connexion>" in french
    assert "Sec-WebSocket-Key: " in french and "Upgrade: websocket" in french  # header names stay
    assert "<th style" in wslab.handshake_table(upgrade)._repr_html_()
    assert ">signification</th>" in wslab.handshake_table(upgrade)._repr_html_()
    assert panel.startswith("ConnectionPanel: registre du serveur\n")
    assert "état" in panel.splitlines()[1] and "open" in panel  # the states stay websockets' names


def test_a_french_labs_live_views_are_french() -> None:
    with wslab.Lab(clock="logical", name="fr-views", lang="fr") as lab:
        server = lab.serve()
        client = lab.connect(server)
        client.close()
        view = lab.show()
        try:
            view.refresh()
            text = repr(view)
            table_html = view.table.html.value
        finally:
            view.close()
    assert "ConnectionPanel: registre du serveur" in text
    assert "diagramme de séquence : client | server" in text
    assert "événements vus" in text
    assert ">événement</th>" in table_html


# --- the errors a learner meets ---------------------------------------------------------------------


def test_a_recv_timeout_speaks_the_labs_language_and_english_is_unchanged() -> None:
    with wslab.Lab(clock="logical", name="fr-recv", lang="fr", timeout=3.0, settle=1.0) as lab:
        client = lab.connect(lab.serve())
        with pytest.raises(wslab.WslabTimeout, match=r"^aucun message n'est arrivé en 0\.2 s$"):
            client.recv(timeout=0.2)
    with wslab.Lab(clock="logical", name="en-recv", timeout=3.0, settle=1.0) as lab:
        client = lab.connect(lab.serve())
        with pytest.raises(wslab.WslabTimeout, match=r"^no message arrived within 0\.2 s$"):
            client.recv(timeout=0.2)


def test_wire_errors_are_french_when_french_is_selected(english_after: None) -> None:
    def drive() -> list[str]:
        said = []
        with wslab.Lab(clock="logical", name="wire-words", timeout=3.0, settle=1.0) as lab:
            wire = lab.wire(lab.serve())
            client = lab.connect(wire)
            for action in (wire.deliver, wire.drop, lambda: wire.edit("x")):
                with pytest.raises(wslab.WslabError) as nothing_held:
                    action()
                said.append(str(nothing_held.value))
            wire.hold()
            client.send("Bonjour")
            with pytest.raises(IndexError) as out_of_range:
                wire.drop(3)
            said.append(str(out_of_range.value))
            with pytest.raises(ValueError) as bad_how:
                wire.corrupt(how="shred")  # type: ignore[arg-type]
            said.append(str(bad_how.value))
            with pytest.raises(ValueError) as bad_direction:
                wire.hold("up")
            said.append(str(bad_direction.value))
            wire.release()
        return said

    assert drive() == [
        "no frame is held on the wire: call wire.hold() first, then send",
        "no frame is held on the wire: call wire.hold() first, then send",
        "no frame is held on the wire: call wire.hold() first, then send",
        "only 1 frames are held on the wire",
        "how must be 'flip-bit', 'bad-utf8' or 'unmask', not 'shred'",
        "direction must be 'client→server' or 'server→client', not 'up'",
    ]
    wslab.set_language("fr")
    assert drive() == [
        "aucune trame n'est retenue sur le wire : appelez d'abord wire.hold(), puis envoyez",
        "aucune trame n'est retenue sur le wire : appelez d'abord wire.hold(), puis envoyez",
        "aucune trame n'est retenue sur le wire : appelez d'abord wire.hold(), puis envoyez",
        "il n'y a qu'une trame retenue sur le wire",
        "how doit valoir 'flip-bit', 'bad-utf8' ou 'unmask', pas 'shred'",
        "direction doit valoir 'client→server' ou 'server→client', pas 'up'",
    ]


def test_a_taken_name_is_refused_in_french_and_in_english(english_after: None) -> None:
    with wslab.Lab(clock="logical", name="taken", timeout=3.0, settle=1.0) as lab:
        lab.serve(name="alice")
        with pytest.raises(ValueError, match=r"^the name 'alice' is taken in this lab$"):
            lab.serve(name="alice")
        wslab.set_language("fr")
        with pytest.raises(ValueError, match=r"^le nom 'alice' est déjà pris dans ce lab$"):
            lab.serve(name="alice")
        with pytest.raises(ValueError, match=r"^connect\(\) a besoin d'au moins un serveur ou une URL$"):
            lab.connect([])
    closed = r"^ce lab est fermé : créez-en un nouveau avec wslab\.Lab\(\)$"
    with pytest.raises(wslab.WslabError, match=closed):
        lab.serve()
