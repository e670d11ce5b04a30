#!/usr/bin/env bash
# The README's test command: installs what the tests need (venv, extras, Chromium), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && ! { command -v chromium && command -v bwrap; } >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium bubblewrap >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" .venv/bin/pip install -q --disable-pip-version-check -e '.[test,local,server]'
exec .venv/bin/python -m pytest -q "$@"
