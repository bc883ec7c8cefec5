"""The language wslab prints in: English by default, French on request, from gettext catalogues.

Every word wslab shows (table headings and details, close-code meanings, error messages, diagram
labels, mermaid text, ``expect`` feedback) goes through :func:`_`. The messages are English; the
French catalogue is ``wslab/locale/fr/LC_MESSAGES/wslab.po``, compiled to ``wslab.mo`` next to it
and managed with Babel (``python tools/i18n.py``). Protocol words stay as the APIs spell them:
event kinds (``open``, ``close``, ``message``, ``error``, ``connection``), ``wasClean``, opcodes,
header names, ``client``/``server``.

Which language, in order: the one a :func:`language` block sets (a lab's event log and diagrams
use it with the lab's ``lang``), then the one set for the current thread (a lab's own loop thread
records its error words in the lab's ``lang``), then the process's: :func:`set_language`, else
what was found when the module was imported, the ``WSLAB_LANG`` environment variable, else
``lang = "fr"`` in a ``wslab.toml`` file in the current folder (a kernel runs in its notebook's
folder, so ``notebooks/fr/wslab.toml`` makes the French lessons print French with the same code
cells as the English ones), else English.
"""

from __future__ import annotations

import functools
import gettext
import os
import threading
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

__all__ = [
    "CONFIG_FILE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "get_language",
    "language",
    "language_of_folder",
    "ngettext",
    "normal_language",
    "set_language",
    "set_thread_language",
    "translation",
]

DOMAIN = "wslab"
LANGUAGES = ("en", "fr")
"""The languages wslab prints in (English is the messages themselves)."""
LOCALE_DIR = Path(__file__).parent / "locale"


def normal_language(lang: str) -> str:
    """``"fr"`` from ``"fr"``, ``"FR"``, ``"fr_FR.UTF-8"`` or ``"fr-CA"``; ValueError for others."""
    short = lang.strip().split(".")[0].replace("-", "_").split("_")[0].lower()
    if short not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return short


CONFIG_FILE = "wslab.toml"
"""Read from the current folder when wslab is imported: ``lang = "fr"`` sets the process's language."""


def language_of_folder(folder: Path) -> str | None:
    """The ``lang`` of ``folder/wslab.toml``, None without one; ValueError when it can't be used."""
    path = folder / CONFIG_FILE
    try:
        with path.open("rb") as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    lang = config.get("lang")
    if lang is None:
        return None
    if not isinstance(lang, str):
        raise ValueError(f'{path}: lang must be a string such as "fr", not {lang!r}')
    return normal_language(lang)


def _from_environment() -> str:
    """WSLAB_LANG, else the current folder's wslab.toml, else English; a bad setting warns, never fails."""
    variable = os.environ.get("WSLAB_LANG")
    try:
        if variable:
            return normal_language(variable)
        return language_of_folder(Path.cwd()) or "en"
    except (ValueError, OSError) as exc:  # a bad setting must not stop the import: English, and say why
        warnings.warn(f"wslab prints in English: {exc}", stacklevel=2)
        return "en"


_process = _from_environment()
_block: ContextVar[str | None] = ContextVar("wslab_language", default=None)
_thread = threading.local()


def set_language(lang: str) -> None:
    """Set the language wslab prints in for the whole process (``"en"`` or ``"fr"``)."""
    global _process
    _process = normal_language(lang)


def set_thread_language(lang: str | None) -> None:
    """Set (or with None, forget) the language of the calling thread: a lab's loop thread uses its lab's."""
    _thread.lang = None if lang is None else normal_language(lang)


def get_language() -> str:
    """The language in effect here: a :func:`language` block's, the thread's, else the process's."""
    block = _block.get()
    if block is not None:
        return block
    thread: str | None = getattr(_thread, "lang", None)
    return thread if thread is not None else _process


@contextmanager
def language(lang: str | None) -> Iterator[None]:
    """Print in ``lang`` inside the block (None: no change)."""
    if lang is None:
        yield
        return
    token = _block.set(normal_language(lang))
    try:
        yield
    finally:
        _block.reset(token)


@functools.cache
def translation(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English: the messages as they are)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def _(message: str) -> str:
    """``message`` in the language in effect."""
    return translation(get_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message, as the language in effect counts."""
    return translation(get_language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (it is translated where shown)."""
    return message
