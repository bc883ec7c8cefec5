"""The package's shape: what `import wslab` loads, and what it exports."""

import subprocess
import sys

import wslab

CORE_MODULES = [
    "wslab.events",
    "wslab.lifecycle",
    "wslab.recorder",
    "wslab.eventlog",
    "wslab.describe",
    "wslab.diagram",
    "wslab.diagram.box",
    "wslab.diagram.layout",
    "wslab.diagram.mermaid",
    "wslab.diagram.model",
    "wslab.diagram.svg",
    "wslab.diagram.text",
    "wslab.handshake",
    "wslab.reconnect",
    "wslab.validation",
    "wslab.render",
    "wslab._feed",  # not the core, but the views' feed needs threads only: no loop, no widgets
]


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_the_core_imports_neither_asyncio_nor_ipywidgets():
    imports = "; ".join(f"import {m}" for m in CORE_MODULES)
    out = run_python(
        f"import sys; {imports}; "
        "print(sorted(m for m in ('asyncio', 'ipywidgets', 'pandas') if m in sys.modules))"
    )
    assert out == "[]"


def test_import_wslab_loads_no_widgets_no_pandas_and_no_sockets_yet():
    out = run_python(
        "import sys, wslab; "
        "print(sorted(m for m in ('asyncio', 'ipywidgets', 'pandas', 'wslab.lab') if m in sys.modules))"
    )
    assert out == "[]"


def test_every_exported_name_resolves():
    for name in wslab.__all__:
        assert getattr(wslab, name) is not None, name


def test_every_module_declares_all():
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(wslab.__path__):
        module = importlib.import_module(f"wslab.{info.name}")
        assert isinstance(getattr(module, "__all__", None), list), info.name


def test_every_exception_wslab_defines_derives_from_wslab_error() -> None:
    import importlib
    import inspect
    import pkgutil

    for info in pkgutil.iter_modules(wslab.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"wslab.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("wslab")
            ):
                assert issubclass(value, wslab.WslabError), f"wslab.{info.name}.{name}"


def test_dir_lists_the_lazy_names_before_first_use() -> None:
    names = dir(wslab)
    assert {"Lab", "Client", "Server", "Wire", "show"} <= set(names)
    assert set(wslab.__all__) <= set(names)
