"""Run every scenario against every system and write ``docs/fidelity.md``.

    .venv/bin/python -m tests.fidelity.report          # from the repository root: rewrites docs/fidelity.md
    .venv/bin/python -m tests.fidelity.report --check  # exit 1 when docs/fidelity.md is not what a run gives

The page is generated from a live run only, with nothing in it that changes from run to run (no
timings, no ports), so ``test_fidelity.py`` can check that the committed page is what a run gives.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .puppet import PuppetLoop
from .scenarios import BEYOND_THE_WINDOWS, CLIENT_SCENARIOS, KNOWN_DIFFERENCES, SERVER_SCENARIOS, WINDOW
from .systems import REPO, Outcome, chromium, run_client_scenario, run_server_scenario, versions, why_missing

DOC = REPO / "docs" / "fidelity.md"
GENERATE = "python -m tests.fidelity.report"
MEASURED = "**Measured with**"


HOW = """
**How.** Client side: a scripted raw-TCP *puppet server* (asyncio on 127.0.0.1, hand-built HTTP
answers and WebSocket frames) behaves byte for byte the same for each client: a headless Chromium
page running the reference article's client (its four listeners `open`, `message`, `error`,
`close`, and `send('Bonjour serveur!')` on open), the same client under Node `ws`, and a wslab
client (`wslab.Lab(clock="logical")`, `lab.connect(url)`). Server side: a scripted raw-TCP
*puppet client* misbehaves the same way against the article's Node `ws` server (its listeners,
printing the close code and reason) and against `lab.serve()`. Each system's events are normalised
to a sequence: `open`, `message`, `error`, `close <code> ['reason'] [wasClean=…]` (only the
browser reports `wasClean`; wslab when its event has `was_clean`), `process exited (code N)`.
`nothing ({window} s)` means no event during the observation window.
""".replace("\n", " ").strip()


@dataclass
class Results:
    versions: dict[str, str]
    missing: dict[str, str]  # system -> why it did not run
    clients: dict[str, dict[str, Outcome]] = field(default_factory=dict)  # scenario -> system -> outcome
    servers: dict[str, dict[str, Outcome]] = field(default_factory=dict)


def collect() -> Results:
    """Every scenario, every system that can run here (clients need Chromium, servers need Node)."""
    missing = {name: why for name in ("chromium", "node") if (why := why_missing(name)) is not None}
    node = "node" not in missing
    puppets = PuppetLoop()
    try:
        if "chromium" in missing:
            results = Results(versions(None), missing)
        else:
            with chromium() as browser:
                results = Results(versions(browser), missing)
                for scenario in CLIENT_SCENARIOS:
                    results.clients[scenario.name] = run_client_scenario(puppets, browser, scenario, node)
        for server_scenario in SERVER_SCENARIOS if node else []:
            results.servers[server_scenario.name] = run_server_scenario(puppets, server_scenario)
    finally:
        puppets.stop()
    return results


# --- comparing ---------------------------------------------------------------------------------


def without_clean(events: list[str]) -> list[str]:
    """The sequence without ``wasClean=…`` (Node ``ws`` does not report it)."""
    return [e.split(" wasClean=")[0] for e in events]


def client_verdict(name: str, outcomes: dict[str, Outcome]) -> str:
    verdict = _verdict(f"client: {name}", outcomes.get("chromium"), outcomes.get("wslab"))
    chromium, node = outcomes.get("chromium"), outcomes.get("node")
    if chromium and node and without_clean(chromium.events) != without_clean(node.events):
        verdict += " (**Chromium and Node disagree**)"
    return verdict


def server_verdict(name: str, outcomes: dict[str, Outcome]) -> str:
    return _verdict(f"server: {name}", outcomes.get("node"), outcomes.get("wslab"))


def _verdict(key: str, real: Outcome | None, ours: Outcome | None) -> str:
    if real is None or ours is None:
        return "not measured"
    if real.events == ours.events:
        return "match" if key not in KNOWN_DIFFERENCES else "match (listed difference is stale)"
    return "listed difference" if key in KNOWN_DIFFERENCES else "**mismatch**"


def behaviour(page: str) -> list[str]:
    """The page without its versions line: a Chromium security update alone must not fail CI."""
    return [line for line in page.splitlines() if not line.startswith(MEASURED)]


# --- the page ----------------------------------------------------------------------------------


def _seq(outcome: Outcome | None) -> str:
    if outcome is None:
        return "—"
    if not outcome.events:
        return f"nothing ({WINDOW:g} s)"
    return " → ".join(f"`{e}`" for e in outcome.events)


def _wire(outcome: Outcome | None) -> str:
    if outcome is None or not outcome.wire:
        return "—"
    return ", ".join(outcome.wire).replace("|", "\\|")


def render(results: Results) -> str:
    v = results.versions
    measured = ", ".join(f"{name} {version}" for name, version in v.items())
    lines = [
        "# Fidelity: wslab against a real browser and Node `ws`",
        "",
        f"Generated by `{GENERATE}` from a live run; do not edit by hand "
        "(`tests/fidelity/test_fidelity.py` fails when this page is not what a fresh run gives).",
        "",
        f"{MEASURED} {measured} (the one line the freshness test does not compare).",
        "",
        HOW.format(window=f"{WINDOW:g}"),
        "",
        "**Verdict.** Client side: wslab against Chromium (Chromium and Node `ws` are also checked against "
        "each other, ignoring `wasClean`: that is the puppet's sanity check). Server side: wslab against "
        "Node `ws`. "
        "`listed difference`: wslab differs on purpose, see [Known differences](#known-differences).",
        "",
    ]
    if results.missing:
        lines += [f"Not measured here: {', '.join(f'{k} ({w})' for k, w in results.missing.items())}.", ""]

    lines += [
        "## Client side: what the client fires when the server…",
        "",
        "| scenario | the puppet server | Chromium | Node `ws` client | wslab client | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for scenario in CLIENT_SCENARIOS:
        out = results.clients.get(scenario.name, {})
        what = scenario.what.replace("|", "\\|")
        lines.append(
            f"| {scenario.name} | {what} | {_seq(out.get('chromium'))} | {_seq(out.get('node'))} "
            f"| {_seq(out.get('wslab'))} | {client_verdict(scenario.name, out)} |"
        )
    lines += [
        "",
        "What each client sent back on the wire, as the puppet server saw it (close frames, pongs, EOF):",
        "",
        "| scenario | Chromium | Node `ws` client | wslab client |",
        "|---|---|---|---|",
    ]
    for scenario in CLIENT_SCENARIOS:
        out = results.clients.get(scenario.name, {})
        lines.append(
            f"| {scenario.name} | {_wire(out.get('chromium'))} | {_wire(out.get('node'))} "
            f"| {_wire(out.get('wslab'))} |"
        )

    lines += [
        "",
        "## Server side: what the server fires when the client…",
        "",
        "| scenario | the puppet client | Node `ws` server | wslab server | verdict |",
        "|---|---|---|---|---|",
    ]
    for server_scenario in SERVER_SCENARIOS:
        out = results.servers.get(server_scenario.name, {})
        lines.append(
            f"| {server_scenario.name} | {server_scenario.what} | {_seq(out.get('node'))} "
            f"| {_seq(out.get('wslab'))} | {server_verdict(server_scenario.name, out)} |"
        )
    lines += [
        "",
        "What each server sent back on the wire, as the puppet client saw it:",
        "",
        "| scenario | Node `ws` server | wslab server |",
        "|---|---|---|",
    ]
    for server_scenario in SERVER_SCENARIOS:
        out = results.servers.get(server_scenario.name, {})
        lines.append(f"| {server_scenario.name} | {_wire(out.get('node'))} | {_wire(out.get('wslab'))} |")

    lines += ["", "## Known differences", "", "Where wslab differs from the real systems on purpose:", ""]
    for key, why in KNOWN_DIFFERENCES.items():
        lines.append(f"- **{key}**: {why}")
    lines += ["", "Beyond the scenarios' observation windows:", ""]
    for key, why in BEYOND_THE_WINDOWS.items():
        lines.append(f"- **{key}**: {why}")
    mismatches = [
        f"client: {s.name}"
        for s in CLIENT_SCENARIOS
        if "mismatch" in client_verdict(s.name, results.clients.get(s.name, {}))
    ]
    mismatches += [
        f"server: {s.name}"
        for s in SERVER_SCENARIOS
        if "mismatch" in server_verdict(s.name, results.servers.get(s.name, {}))
    ]
    lines += ["", "## Unlisted mismatches", ""]
    if mismatches:
        lines += [
            "These fail `tests/fidelity` until wslab is fixed (or the difference is listed, with a reason):",
            "",
        ]
        lines += [f"- {m}" for m in mismatches]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(collect())
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if behaviour(current) != behaviour(text):
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), "docs/fidelity.md", "this run", lineterm=""
            )
            print("\n".join(diff), file=sys.stderr)
            print(f"{DOC} is not what a run gives: run `{GENERATE}`", file=sys.stderr)
            return 1
        return 0
    Path(DOC).write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
