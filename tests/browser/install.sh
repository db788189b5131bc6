#!/usr/bin/env bash
# Install what Tern's browser suites need (idempotent; quick when done):
#   Debian's chromium (never a browser download), when /usr/bin/chromium is missing;
#   node_modules from package-lock.json (playwright-core, openid-client,
#   express-openid-connect, @auth0/auth0-spa-js, express).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
cd "$here"
stamp="node_modules/.tern-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ]; then
  echo "install.sh: browser suite dependencies up to date"
else
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
