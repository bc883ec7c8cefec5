"""The Binder environment (tools/check_binder.py): the Dockerfile repo2docker renders from binder/ gives
the lessons what they need, and each way of getting it wrong is caught. The lessons themselves run in
the emulated environment in tests/run-all.sh, not here (a minute)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from _helpers import tool

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("repo2docker", reason="the Binder check needs the .[docs] extra (jupyter-repo2docker)")


binder = tool("check_binder")


@pytest.fixture(scope="module")
def build() -> Any:
    return binder.render(ROOT)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what repo2docker reads: binder/ and pyproject.toml."""
    shutil.copytree(ROOT / "binder", tmp_path / "binder")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_rendered_build_gives_the_lessons_what_they_need(build: Any) -> None:
    assert binder.problems(build, ROOT) == []
    assert build.python == (ROOT / "binder/runtime.txt").read_text().strip().removeprefix("python-")
    pins = build.pins()
    assert {"jupyterlab", "jupyter_server", "ipykernel", "ipywidgets"} <= set(pins)
    assert all(v[0].isdigit() for v in pins.values())
    assert build.node() is not None and int(build.node().split(".")[0]) >= 18  # ws 8 needs Node 10+


def test_without_runtime_txt_repo2docker_picks_a_python_too_old_for_wslab(repo: Path) -> None:
    (repo / "binder/runtime.txt").unlink()
    bare = binder.render(repo)
    major, minor = (int(x) for x in bare.python.split("."))
    assert (major, minor) < (3, 11)  # repo2docker's default (3.10 in 2026.4): why runtime.txt exists


def test_an_old_runtime_is_caught(repo: Path) -> None:
    (repo / "binder/runtime.txt").write_text("python-3.10\n")
    found = binder.problems(binder.render(repo), repo)
    assert any("older than pyproject.toml's requires-python" in p for p in found)


def test_missing_requirements_and_postbuild_are_caught(repo: Path) -> None:
    (repo / "binder/requirements.txt").unlink()
    (repo / "binder/postBuild").unlink()
    found = binder.problems(binder.render(repo), repo)
    assert "binder/requirements.txt is not installed" in found
    assert "binder/postBuild is not run" in found


def test_installing_before_the_copy_and_no_node_are_caught(build: Any) -> None:
    moved = build.dockerfile.replace(binder.REPO_COPIED, "") + binder.REPO_COPIED  # now after the install
    no_node = build.lock.replace("/nodejs-", "/not-node-")
    found = binder.problems(dataclasses.replace(build, dockerfile=moved, lock=no_node), ROOT)
    assert "binder/requirements.txt is installed before the repository is copied in" in found
    assert "no Node.js in the image: lesson 11 and postBuild's npm ci need it" in found


def test_a_stale_runtime_txt_is_caught(build: Any) -> None:
    found = binder.problems(dataclasses.replace(build, python="3.13"), ROOT)
    assert any(p.startswith("repo2docker builds Python 3.13, binder/runtime.txt says") for p in found)
