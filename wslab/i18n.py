"""The language wslab prints in: English by default, French on request, from gettext catalogues.

Every word wslab shows (table headings and details, close-code meanings, error messages, diagram
labels, mermaid text, ``expect`` feedback) goes through :func:`_`. The messages are English; the
French catalogue is ``wslab/locale/fr/LC_MESSAGES/wslab.po``, compiled to ``wslab.mo`` next to it
and managed with Babel (``python tools/i18n.py``). Protocol words stay as the APIs spell them:
event kinds (``open``, ``close``, ``message``, ``error``, ``connection``), ``wasClean``, opcodes,
header names, ``client``/``server``.

Which language, in order: the one a :func:`language` block sets (a lab's event log and diagrams
use it with the lab's ``lang``), then the one set for the current thread (a lab's own loop thread
records its error words in the lab's ``lang``), then the process's (:func:`set_language`, or the
``WSLAB_LANG`` environment variable when the module is imported), then English.
"""

from __future__ import annotations

import functools
import gettext
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "get_language",
    "language",
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


def _from_environment() -> str:
    try:
        return normal_language(os.environ.get("WSLAB_LANG") or "en")
    except ValueError:  # a bad variable must not stop the import: English, as without it
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
