#!/usr/bin/env bash
# Install everything into .venv and run every check: lint, types, unit tests on Python 3.13 when it is
# present, then all unit tests and every lesson under nbval strict. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

echo "== installing into .venv with $($PYTHON --version)"
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

# Programs outside Python that some lessons and tests use: redis-server (scale-out), chromium (the
# real-browser and hub tests), and with npm: the ws package (Node peers) and configurable-http-proxy
# (the JupyterHub test; a devDependency in package.json; jupyterhub itself comes with .[test]). CI
# installs what is missing; elsewhere the tests and lessons that need them are skipped with the reason.
if [ "${CI:-}" = "true" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]} from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
if command -v npm >/dev/null 2>&1; then
  echo "== npm ci (ws for the Node lessons, configurable-http-proxy for the hub test)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "== ruff, mypy --strict and import-linter"
.venv/bin/ruff check wslab tests bench
.venv/bin/ruff format --check wslab tests bench
.venv/bin/mypy wslab
echo "== lint-imports (the layers go one way: see [tool.importlinter] in pyproject.toml)"
.venv/bin/lint-imports

# Python 3.13: the unit tests again, when an interpreter is there.
py313=""
if command -v python3.13 >/dev/null 2>&1 && python3.13 --version >/dev/null 2>&1; then
  py313=$(command -v python3.13)
else
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
    [ -x "$candidate" ] && py313=$candidate && break
  done
fi
if [ -n "$py313" ]; then
  echo "== Python 3.13 found at $py313: running the unit tests on it (not the slow load, browser, hub and fidelity ones)"
  "$py313" -m venv .venv313
  .venv313/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  .venv313/bin/python -m pytest -q tests -x -m "not slow and not browser and not hub and not fidelity"
else
  echo "== Python 3.13 not found: skipped the unit tests on 3.13"
fi

# The lessons run in the README's plain install (`pip install -e .`, no extras), plus only the test
# runner, so a lesson that needs a package the plain install lacks fails here.
echo "== lessons (nbval strict) in the plain install: .venv-lessons with pip install -e . plus pytest and nbval"
"$PYTHON" -m venv .venv-lessons
.venv-lessons/bin/python -m pip install -q --disable-pip-version-check -e . pytest nbval
.venv-lessons/bin/python -m pytest -q --nbval notebooks

# The lessons as a website (MkDocs + mkdocs-jupyter, from the stored outputs: nothing is executed), then
# the offline link check of every internal link and anchor; it fails on a broken one (docs/teaching.md).
echo "== website: mkdocs build --strict from the stored outputs, then the link check"
site_started=$SECONDS
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[docs]"
.venv/bin/ruff check tools
.venv/bin/ruff format --check tools
.venv/bin/python tools/build_site.py | grep -v '^  external: '
echo "== website built and checked in $((SECONDS - site_started)) s (install included): build/site/index.html"

# Binder: the Dockerfile that repo2docker (from .[docs]) renders from binder/, checked; then the same
# Python environment outside Docker (the Python of binder/runtime.txt, the Jupyter versions of
# repo2docker's lock, requirements.txt as a plain install, postBuild), and the lessons in it.
echo "== Binder: repo2docker's Dockerfile checked, then the same environment outside Docker"
binder_started=$SECONDS
.venv/bin/python tools/check_binder.py --emulate .venv-binder
if [ -x .venv-binder/bin/python ]; then
  .venv-binder/bin/python -m pip install -q --disable-pip-version-check pytest nbval
  # the image's copy of the lessons: the English ones, and a French one for the catalogue in the wheel
  (cd .venv-binder/repo && ../bin/python -m pytest -q --nbval notebooks/[0-9]*.ipynb notebooks/fr/01-*.ipynb)
fi
echo "== Binder checked in $((SECONDS - binder_started)) s"

echo "== unit tests on $(.venv/bin/python --version)"
# In CI every program they use was installed above: there, a skipped test fails the run (tests/conftest.py).
if [ "${CI:-}" = "true" ]; then export WSLAB_NO_SKIPS=1; fi
.venv/bin/python -m pytest -q tests
