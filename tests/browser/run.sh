#!/usr/bin/env bash
# Run Tern's browser suites against a running Tern (crates/tern-server/tests/browser.rs
# starts one and sets the environment). Installs nothing: run install.sh first.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -d "$here/node_modules/openid-client" ]; then
  echo "run.sh: node dependencies missing; run tests/browser/install.sh" >&2
  exit 2
fi
cd "$here"
# One Chromium at a time: the suites run one after another.
node --test --test-concurrency=1 --test-reporter=spec ${TERN_BROWSER_ONLY:-*.test.mjs}
