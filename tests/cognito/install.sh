#!/usr/bin/env bash
# Install the dependencies of crates/tern-server/tests/cognito_connector.rs
# (idempotent; quick when already installed): a virtualenv at
# tests/cognito/.venv with moto (the AWS Cognito emulator) and boto3.
# The folder .venv is git-ignored. PYTHON=... picks the interpreter for the venv.
set -euo pipefail
cd "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.tern-requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "install.sh: cognito test dependencies up to date"
else
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$want" > "$stamp"
fi
