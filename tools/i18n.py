"""Keep the French catalogue in step with the code: extract, update and compile, with Babel.

    python tools/i18n.py            # extract wslab's messages, update the .po, compile the .mo
    python tools/i18n.py --check    # fail when the .po lacks a message the code marks

No babel.cfg or setup.cfg: the options are here, and the template (.pot) is made fresh each time,
never kept. Messages are marked with ``_()``, ``N_()`` and ``ngettext()`` (wslab/i18n.py);
translators' notes start with ``# i18n:``. Run it again and nothing changes: same code and same
translations give the same .po and .mo, byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "wslab" / "locale"
LANGUAGES = ("fr",)


def pybabel(*args: str) -> None:
    run = "import sys; from babel.messages.frontend import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", run, "--quiet", *args], check=True, cwd=ROOT)


def extract(target: Path) -> None:
    pybabel(
        "extract", "--keywords=N_ ngettext:1,2", "--add-comments=i18n:", "--no-location",
        "--sort-output", "--project=wslab", "--copyright-holder=wslab", "-o", str(target), "wslab",
    )  # fmt: skip


def ids(path: Path) -> set[str | tuple[str, ...]]:
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "wslab.pot"
        extract(pot)
        for lang in LANGUAGES:
            po = LOCALE / lang / "LC_MESSAGES" / "wslab.po"
            if "--check" in argv:
                missing = ids(pot) - ids(po)
                if missing:
                    print(f"{po}: {len(missing)} messages missing; run python tools/i18n.py")
                    return 1
                continue
            if po.exists():
                keep = ("--no-fuzzy-matching", "--ignore-obsolete", "--ignore-pot-creation-date", "-w", "110")
                pybabel("update", *keep, "-D", "wslab", "-i", str(pot), "-d", str(LOCALE), "-l", lang)
            else:
                pybabel("init", "-D", "wslab", "-i", str(pot), "-d", str(LOCALE), "-l", lang)
            pybabel("compile", "-D", "wslab", "-d", str(LOCALE), "-l", lang)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
