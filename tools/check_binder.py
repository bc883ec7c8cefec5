"""Check the Binder environment the way mybinder.org builds it, without Docker.

    python tools/check_binder.py                    # the Dockerfile repo2docker would build: checked
    python tools/check_binder.py --emulate VENV     # ... then the same Python environment, outside Docker

mybinder.org builds the repository with repo2docker. Docker is not needed to know what that build
does: repo2docker (installed with ``.[docs]``) renders the Dockerfile from ``binder/`` without building
it. This script checks that Dockerfile against what the lessons need: the Python of
``binder/runtime.txt`` (repo2docker's own default is older than wslab's minimum), the apt packages of
``binder/apt.txt``, ``binder/requirements.txt`` installed after the repository is copied in (it holds
``.``, the repository itself), ``binder/postBuild`` run, and Node on the PATH for lesson 11.

``--emulate VENV`` then rebuilds that environment as a virtualenv: the same Python minor version, the
Jupyter packages at the versions pinned in repo2docker's conda lock for it, then, in a copy of the
repository's tracked files (VENV/repo, as the image has its own copy), ``pip install -r
binder/requirements.txt`` (a plain, not an editable, install: the package data must be in the wheel)
and ``binder/postBuild``, as the image's build runs them. ``tests/run-all.sh`` then runs the copy's
English lessons and French lesson 01 under nbval in it. What this cannot check: Ubuntu's packages
inside the image, and mybinder.org itself.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
# conda package name in repo2docker's lock → the pip name it is installed under here
JUPYTER = {
    "jupyterlab": "jupyterlab",
    "notebook": "notebook",
    "jupyter_server": "jupyter_server",
    "ipykernel": "ipykernel",
    "ipywidgets": "ipywidgets",
    "tornado": "tornado",
    "jupyterhub-base": "jupyterhub",
    "jupyter-resource-usage": "jupyter-resource-usage",
}
REPO_COPIED = "COPY --chown=0:0 src/ ${REPO_DIR}/"
REQUIREMENTS = 'pip install --no-cache-dir -r "binder/requirements.txt"'


@dataclass(frozen=True)
class Build:
    """What repo2docker would build: its Dockerfile and the conda lock of its Python."""

    dockerfile: str
    python: str  # "3.12"
    lock: str  # the text of repo2docker's environment lock for that Python

    def pins(self) -> dict[str, str]:
        """pip name → version, for the Jupyter packages the lock pins."""
        found: dict[str, str] = {}
        for conda, pip in JUPYTER.items():
            m = re.search(rf"/{re.escape(conda)}-(\d[^-]*)-[^/]*\.conda", self.lock)
            if m:
                found[pip] = m.group(1)
        return found

    def node(self) -> str | None:
        """The Node.js version in the image's conda environment, if any."""
        m = re.search(r"/nodejs-(\d[^-]*)-", self.lock)
        return m.group(1) if m else None


def render(root: Path = ROOT) -> Build:
    """Ask repo2docker for the Dockerfile of `root`, as mybinder.org would build it."""
    out = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--no-run", str(root)],
        capture_output=True, text=True, check=True, cwd=root,
    )  # fmt: skip
    m = re.search(r"conda environment for python=(\d+)\.(\d+)", out.stderr)
    # the Dockerfile copies in the lock of that Python, under a name escaped with escapism ('.' → -2e)
    if not m or f"environment-2epy-2d{m[1]}-2e{m[2]}-2dlinux-2d64-2elock" not in out.stdout:
        raise SystemExit("repo2docker builds no conda Python environment:\n" + out.stderr)
    import repo2docker

    python = f"{m[1]}.{m[2]}"
    locks = Path(repo2docker.__file__).parent / "buildpacks" / "conda"
    lock = locks / f"environment.py-{python}-linux-64.lock"
    return Build(out.stdout, python, lock.read_text())


def _lines(path: Path) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


def _requires_python(root: Path) -> tuple[int, int]:
    m = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', (root / "pyproject.toml").read_text())
    if not m:
        raise SystemExit('pyproject.toml has no requires-python = ">=X.Y"')
    return int(m.group(1)), int(m.group(2))


def problems(build: Build, root: Path = ROOT) -> list[str]:
    """What in the rendered build does not give the lessons what they need (empty: all is well)."""
    found: list[str] = []
    binder = root / "binder"
    runtime = (binder / "runtime.txt").read_text().strip()
    if runtime != f"python-{build.python}":
        found.append(f"repo2docker builds Python {build.python}, binder/runtime.txt says {runtime!r}")
    major, minor = (int(x) for x in build.python.split("."))
    if (major, minor) < _requires_python(root):
        found.append(f"Python {build.python} is older than pyproject.toml's requires-python")
    text = build.dockerfile
    apt = sorted(_lines(binder / "apt.txt"))
    m = re.search(r"apt-get install --yes --no-install-recommends ([^&\\]+)", text)
    if sorted(m.group(1).split() if m else []) != apt:
        found.append(f"the image's apt packages are {m.group(1).split() if m else []}, apt.txt says {apt}")
    copied, installed = text.find(REPO_COPIED), text.find(REQUIREMENTS)
    if installed < 0:
        found.append("binder/requirements.txt is not installed")
    elif copied < 0 or installed < copied:
        found.append("binder/requirements.txt is installed before the repository is copied in")
    if "RUN ./binder/postBuild" not in text:
        found.append("binder/postBuild is not run")
    if build.node() is None and not {"nodejs", "npm"} <= set(apt):
        found.append("no Node.js in the image: lesson 11 and postBuild's npm ci need it")
    if not re.search(r"ENV PATH=\$\{NB_PYTHON_PREFIX\}/bin:", text):
        found.append("the environment's bin folder is not first on the image's PATH")
    return found


def interpreter(version: str) -> str | None:
    """A `pythonX.Y` of that version that runs here: on the PATH, or one that pyenv installed (pyenv's
    shim on the PATH may exist and still fail when that version is not the selected one)."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


def copy_repository(root: Path, dest: Path) -> None:
    """The files git tracks in `root`, copied to `dest`: what repo2docker copies into the image (and
    postBuild's `npm ci --omit=dev` then replaces the copy's node_modules, not the clone's own)."""
    listed = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True, cwd=root).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)


def emulate(build: Build, venv: Path, python: str, root: Path = ROOT) -> Path:
    """Rebuild the image in `venv`, in the order the image's build runs: the repository copied to
    `venv`/repo, then the Python environment; returns the copy (its lessons are the image's)."""
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    repo = venv / "repo"
    copy_repository(root, repo)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    pins = [f"{name}=={version}" for name, version in build.pins().items()]
    subprocess.run([*pip, *pins], check=True, cwd=repo)
    subprocess.run([*pip, "--no-cache-dir", "-r", "binder/requirements.txt"], check=True, cwd=repo)
    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(["bash", "binder/postBuild"], check=True, cwd=repo, env={**os.environ, "PATH": path})
    return repo


def main(argv: list[str]) -> int:
    build = render()
    base = re.search(r"^FROM (\S+)", build.dockerfile, re.M)
    image = base.group(1) if base else "?"
    print(f"repo2docker builds on {image} with Python {build.python}, Node {build.node()}")
    print("  Jupyter pinned by its lock: " + ", ".join(f"{k} {v}" for k, v in build.pins().items()))
    found = problems(build)
    for problem in found:
        print(f"  PROBLEM: {problem}")
    if found:
        return 1
    print("  the Dockerfile does what the lessons need")
    if "--emulate" in argv:
        venv = Path(argv[argv.index("--emulate") + 1]).resolve()
        shutil.rmtree(venv, ignore_errors=True)
        python = interpreter(build.python)
        if python is None:
            print(f"  no Python {build.python} here: skipped the same environment outside Docker")
            return 0
        repo = emulate(build, venv, python)
        print(f"  the same environment, outside Docker: {venv}, the repository copied to {repo}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
