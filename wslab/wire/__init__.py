"""The wire: a relay between clients and a server that shows, and lets you hold, every frame.

See :mod:`wslab.wire._wire` for :class:`Wire`. The parts: :mod:`~wslab.wire.frames` (pure: frames,
payload meaning, permessage-deflate), :mod:`~wslab.wire.held` (the held frames, each direction's
state table, the step actions), :mod:`~wslab.wire.relay` (frames both ways) and
:mod:`~wslab.wire.opening` (listening, limits, the upstream). Names load on first use, so that
``wslab.wire.frames`` stays importable without asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._wire import Wire
    from .frames import Corruption
    from .state import HeldFrame

__all__ = ["Corruption", "HeldFrame", "Wire"]

_WHERE = {"Wire": "._wire", "HeldFrame": ".state", "Corruption": ".frames"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
