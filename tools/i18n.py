"""Keep the French catalogue in step with the code: extract, update and compile, with Babel.

    python tools/i18n.py            # extract wslab's messages, update the .po, compile the .mo
    python tools/i18n.py --check    # fail when the .po lacks a message or the .mo is stale

No babel.cfg or setup.cfg: the options are here. Messages are marked with ``_()``, ``N_()`` and
``ngettext()`` (wslab/i18n.py); translators' notes start with ``# i18n:``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "wslab" / "locale"
POT = LOCALE / "wslab.pot"
LANGUAGES = ("fr",)


def pybabel(*args: str) -> None:
    run = "import sys; from babel.messages.frontend import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", run, "--quiet", *args], check=True, cwd=ROOT)


def extract(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    pybabel(
        "extract", "--keywords=N_ ngettext:1,2", "--add-comments=i18n:", "--no-location",
        "--sort-output", "--project=wslab", "--copyright-holder=wslab", "-o", str(target), "wslab",
    )  # fmt: skip


def main(argv: list[str]) -> int:
    if "--check" in argv:
        with tempfile.TemporaryDirectory() as tmp:
            pot = Path(tmp) / "wslab.pot"
            extract(pot)
            from babel.messages.pofile import read_po

            wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
            for lang in LANGUAGES:
                po = LOCALE / lang / "LC_MESSAGES" / "wslab.po"
                have = {m.id for m in read_po(po.open("rb")) if m.id}
                if wanted - have:
                    print(f"{po}: {len(wanted - have)} messages missing; run python tools/i18n.py")
                    return 1
        return 0
    extract(POT)
    for lang in LANGUAGES:
        po = LOCALE / lang / "LC_MESSAGES" / "wslab.po"
        if po.exists():
            pybabel("update", "--no-fuzzy-matching", "--ignore-obsolete", "-D", "wslab",
                    "-i", str(POT), "-d", str(LOCALE), "-l", lang)  # fmt: skip
        else:
            pybabel("init", "-D", "wslab", "-i", str(POT), "-d", str(LOCALE), "-l", lang)
        pybabel("compile", "-D", "wslab", "-d", str(LOCALE), "-l", lang, "--statistics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
