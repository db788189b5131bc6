"""Shared fixtures for the auth0-python 6.x compatibility tests.

Tern listens on plain http: authentication calls use GetToken(...,
protocol="http") and management calls use auth0.management.Auth0 with an
http base_url. Every HTTP exchange (httpx for management, requests for
authentication) is recorded; a failing test's report gets the exchanges it
made, and TERN_SDK_DEBUG=1 prints them as they happen.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from dataclasses import dataclass

import httpx
import pytest
import requests

from auth0.authentication import GetToken
from auth0.management import Auth0

DEBUG = os.environ.get("TERN_SDK_DEBUG") == "1"

# ---------------------------------------------------------------- traffic log

_traffic: list[dict] = []
_seq = 0


def _clip(s, n=2000):
    if s is None:
        return ""
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    s = str(s)
    return s if len(s) <= n else s[:n] + f"…(+{len(s) - n} chars)"


def _record(method, url, req_body, status, resp_body, error=None):
    global _seq
    _seq += 1
    entry = {
        "seq": _seq,
        "method": method,
        "url": str(url),
        "request": _clip(req_body),
        "status": status,
        "response": _clip(resp_body),
        "error": error,
    }
    _traffic.append(entry)
    del _traffic[:-100]
    if DEBUG:
        sys.stderr.write(
            f">>> {method} {url}\n{entry['request']}\n<<< {status} {error or entry['response']}\n"
        )


def _format(entries):
    out = []
    for e in entries:
        resp = f"network error {e['error']}" if e["error"] else f"{e['status']} {e['response'] or '(empty)'}"
        out.append(f"  {e['method']} {e['url']}\n    request:  {e['request'] or '(none)'}\n    response: {resp}")
    return "\n".join(out)


# requests (used by auth0.authentication): wrap Session.send once.
_orig_send = requests.Session.send


def _recording_send(self, request, **kwargs):
    try:
        resp = _orig_send(self, request, **kwargs)
    except Exception as exc:  # noqa: BLE001 - recorded and re-raised
        _record(request.method, request.url, request.body, None, None, error=repr(exc))
        raise
    _record(request.method, request.url, request.body, resp.status_code, resp.text)
    return resp


requests.Session.send = _recording_send


def _httpx_response_hook(response: httpx.Response):
    response.read()
    req = response.request
    try:
        body = req.content
    except httpx.RequestNotRead:  # a streamed body: multipart (the import job's file)
        body = "[multipart form]"
    _record(req.method, req.url, body, response.status_code, response.text)


# ---------------------------------------------------------------- pytest hooks


@pytest.fixture(autouse=True)
def _traffic_mark(request):
    request.node._tern_mark = _seq
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("call", "setup"):
        mark = getattr(item, "_tern_mark", 0)
        seen = [e for e in _traffic if e["seq"] > mark][-6:]
        if seen:
            report.sections.append(("HTTP exchanges (last 6)", _format(seen)))


# ---------------------------------------------------------------- environment


@dataclass(frozen=True)
class Env:
    domain: str
    client_id: str
    client_secret: str
    audience: str
    connection: str
    connection_id: str

    @property
    def issuer(self) -> str:
        return f"https://{self.domain}/"

    @property
    def base_url(self) -> str:
        return f"http://{self.domain}/api/v2"


@pytest.fixture(scope="session")
def env() -> Env:
    names = ["TERN_DOMAIN", "TERN_CLIENT_ID", "TERN_CLIENT_SECRET", "TERN_AUDIENCE", "TERN_CONNECTION", "TERN_CONNECTION_ID"]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"environment not set: {', '.join(missing)} (run tests/sdk/run.sh against a running Tern)")
    return Env(*(os.environ[n] for n in names))


@pytest.fixture(scope="session")
def admin_token(env) -> str:
    tok = GetToken(env.domain, env.client_id, client_secret=env.client_secret, protocol="http")
    return tok.client_credentials(env.audience)["access_token"]


def make_management(env: Env, token: str) -> Auth0:
    client = httpx.Client(timeout=30.0, event_hooks={"response": [_httpx_response_hook]})
    return Auth0(base_url=env.base_url, token=token, max_retries=0, httpx_client=client)


@pytest.fixture(scope="session")
def mgmt(env, admin_token) -> Auth0:
    return make_management(env, admin_token)


@pytest.fixture
def run_id() -> str:
    return secrets.token_hex(5)


@pytest.fixture
def undo():
    """Cleanup steps, run in reverse order after the test, failures ignored."""
    steps = []
    yield steps
    for step in reversed(steps):
        try:
            step()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


def create_realm_app(env: Env, mgmt: Auth0, name: str, undo: list, extra_grants=()):
    """Create an application client that may use the password and password-realm
    grants (and `extra_grants`) and enable the database connection for it. Each
    step appends its undo to `undo` (the client is deleted, the connection's
    enabled_clients restored). Returns the created client (with client_secret)."""
    app = mgmt.clients.create(
        name=name,
        app_type="regular_web",
        grant_types=["password", PASSWORD_REALM, *extra_grants],
        token_endpoint_auth_method="client_secret_post",
    )
    assert app.client_id and app.client_secret, app
    undo.append(lambda: mgmt.clients.delete(app.client_id))
    enable_on_connection(env, mgmt, app.client_id, undo)
    return app


def enable_on_connection(env: Env, mgmt: Auth0, client_id: str, undo: list):
    """Enable the database connection for `client_id`; `undo` gets the step
    that restores the connection's enabled_clients."""
    before = list(mgmt.connections.get(env.connection_id).enabled_clients or [])
    upd = mgmt.connections.update(env.connection_id, enabled_clients=before + [client_id])
    assert client_id in (upd.enabled_clients or [])

    def restore():
        now = mgmt.connections.get(env.connection_id).enabled_clients or []
        mgmt.connections.update(env.connection_id, enabled_clients=[c for c in now if c != client_id])

    undo.append(restore)


def decode_jwt(token: str) -> tuple[dict, dict]:
    assert isinstance(token, str), f"token must be a string, got {token!r}"
    parts = token.split(".")
    assert len(parts) == 3, f"not a JWS compact JWT: {token[:80]}"

    def dec(p):
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))

    return dec(parts[0]), dec(parts[1])
