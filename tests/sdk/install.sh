#!/usr/bin/env bash
# Install the dependencies of Tern's SDK compatibility tests (idempotent; quick
# when already installed):
#   node/    `npm ci` from package-lock.json (npm auth0 7.1.0) into node/node_modules
#   python/  a virtualenv at python/.venv with requirements.txt (auth0-python 6.8.0, Authlib, pytest)
# Both folders are git-ignored. PYTHON=... picks the interpreter for the venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --- Node
cd "$here/node"
lock_stamp="node_modules/.tern-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$lock_stamp" ] && [ "$(cat "$lock_stamp")" = "$want" ] && [ -d node_modules/auth0 ]; then
  echo "install.sh: node dependencies up to date"
else
  npm ci --no-audit --no-fund
  echo "$want" > "$lock_stamp"
fi

# --- Python
cd "$here/python"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
req_stamp=".venv/.tern-requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ -f "$req_stamp" ] && [ "$(cat "$req_stamp")" = "$want" ]; then
  echo "install.sh: python dependencies up to date"
else
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$want" > "$req_stamp"
fi
