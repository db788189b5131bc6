#!/usr/bin/env bash
# Run Tern's client-compatibility tests: the official npm `auth0` SDK (node:test)
# then auth0-python (pytest), against a running Tern. Installs nothing: run
# tests/sdk/install.sh first.
#
# Environment (a running Tern provides these):
#   TERN_DOMAIN          127.0.0.1:PORT (what the SDKs take as domain)
#   TERN_CLIENT_ID       bootstrap admin machine-to-machine client
#   TERN_CLIENT_SECRET
#   TERN_AUDIENCE        https://127.0.0.1:PORT/api/v2/
#   TERN_CONNECTION      Username-Password-Authentication
#   TERN_CONNECTION_ID   its con_… id
# or TERN_BOOTSTRAP=/path/to/bootstrap.json (written by `tern serve --data-dir`),
# from which the variables above that are unset are filled in.
#   TERN_SDK_DEBUG=1     print every HTTP exchange
#   TERN_SDK_ONLY=node|python   run only one of the two suites
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ -n "${TERN_BOOTSTRAP:-}" ]; then
  if [ ! -r "$TERN_BOOTSTRAP" ]; then
    echo "run.sh: TERN_BOOTSTRAP=$TERN_BOOTSTRAP is not readable" >&2
    exit 2
  fi
  eval "$(node -e '
    const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const q = (s) => "\x27" + String(s).replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
    const set = (k, v) => { if (v != null && !process.env[k]) console.log(`export ${k}=${q(v)}`); };
    set("TERN_DOMAIN", b.domain);
    set("TERN_CLIENT_ID", b.client_id);
    set("TERN_CLIENT_SECRET", b.client_secret);
    set("TERN_AUDIENCE", b.audience ?? (b.domain && `https://${b.domain}/api/v2/`));
    set("TERN_CONNECTION", b.connection ?? "Username-Password-Authentication");
    set("TERN_CONNECTION_ID", b.connection_id);
  ' "$TERN_BOOTSTRAP")"
fi

missing=()
for v in TERN_DOMAIN TERN_CLIENT_ID TERN_CLIENT_SECRET TERN_AUDIENCE TERN_CONNECTION TERN_CONNECTION_ID; do
  [ -n "${!v:-}" ] || missing+=("$v")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: not set: ${missing[*]} (see the header of this script)" >&2
  exit 2
fi

only="${TERN_SDK_ONLY:-}"
node_rc=0
py_rc=0

if [ -z "$only" ] || [ "$only" = node ]; then
  echo "=== Node: npm auth0 $(node -p "require('$here/node/node_modules/auth0/package.json').version" 2>/dev/null || echo '(not installed)') (node:test) ==="
  if [ ! -d "$here/node/node_modules/auth0" ]; then
    echo "run.sh: node dependencies missing; run tests/sdk/install.sh" >&2
    node_rc=2
  else
    (cd "$here/node" && node --test --test-concurrency=1 --test-reporter=spec \
      token.test.mjs users.test.mjs connections.test.mjs clients.test.mjs password_realm.test.mjs \
      lazy_migration.test.mjs sessions.test.mjs refresh_tokens.test.mjs \
      jobs.test.mjs actions.test.mjs keys.test.mjs logs.test.mjs roles.test.mjs)
    node_rc=$?
  fi
  echo "=== Node exit code: $node_rc ==="
fi

if [ -z "$only" ] || [ "$only" = python ]; then
  py="${PYTHON:-}"
  if [ -z "$py" ]; then
    if [ -x "$here/python/.venv/bin/python" ]; then py="$here/python/.venv/bin/python"; else py=python3; fi
  fi
  echo "=== Python: auth0-python $("$py" -c 'import importlib.metadata as m; print(m.version("auth0-python"))' 2>/dev/null || echo '(not installed)') (pytest, $py) ==="
  (cd "$here/python" && "$py" -m pytest)
  py_rc=$?
  echo "=== Python exit code: $py_rc ==="
fi

if [ "$node_rc" -ne 0 ] || [ "$py_rc" -ne 0 ]; then
  echo "SDK compatibility tests FAILED (node=$node_rc python=$py_rc)"
  exit 1
fi
echo "SDK compatibility tests passed"
