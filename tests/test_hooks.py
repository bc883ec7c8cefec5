"""Hooks (wslab/hooks.py): only the kinds an endpoint records may have one."""

import pytest


def test_unknown_hook_kinds_are_refused(lab):
    server = lab.serve()
    with pytest.raises(ValueError, match="unknown event kind 'mesage'"):
        server.on("mesage", print)  # type: ignore[arg-type]
