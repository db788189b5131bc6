"""Lazy migration with auth0-python 6.x: a custom-database connection created
through the Management client, whose Auth0-style scripts call a legacy user
service over HTTP (a small http.server started here stands in for a system
outside Tern). Users migrate on their first password-realm login
(GetToken.login), later logins stay in Tern, a legacy-only user cannot sign up
again (Database.signup), and change_password answers Auth0's text for a
legacy-only user, who is created with the new password when the link is used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from auth0.authentication import Database, GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.errors import NotFoundError
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from conftest import PASSWORD_REALM

MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
SEED = "JBSWY3DPEHPK3PXP"  # the TOTP seed the legacy system enrolled users with


def totp(seed_b32: str, at: float) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s) from the RFC, independent of Tern."""
    key = base64.b32decode(seed_b32)
    mac = hmac.new(key, int(at // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(int.from_bytes(mac[off:off + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def login_with_otp(tok: GetToken, at: float, **grant) -> dict:
    """The password-realm grant answers Auth0's mfa_required (the SDK raises it
    with the body); the mfa-otp grant with its mfa_token finishes the login."""
    with pytest.raises(Auth0Error) as ei:
        tok.login(**grant)
    assert (ei.value.status_code, ei.value.error_code) == (403, "mfa_required")
    mfa_token = ei.value.content["mfa_token"]
    return tok.authenticated_post(
        f"{tok.protocol}://{tok.domain}/oauth/token",
        data={"client_id": tok.client_id, "grant_type": MFA_OTP, "mfa_token": mfa_token, "otp": totp(SEED, at)},
    )

LOGIN = """function login(email, password, callback) {
  const request = require('request');
  request.post({
    url: configuration.LEGACY_URL + '/authenticate',
    json: { email: email, password: password },
    headers: { authorization: 'Bearer ' + configuration.LEGACY_TOKEN }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (response.statusCode !== 200) return callback(new Error('legacy answered ' + response.statusCode));
    callback(null, { user_id: body.id, email: body.email, name: body.name, app_metadata: { plan: body.plan },
                     mfa_factors: [{ totp: { secret: 'JBSWY3DPEHPK3PXP' } }, { email: { value: body.email } }] });
  });
}"""

GET_USER = """function getByEmail(email, callback) {
  const request = require('request');
  request.get({
    url: configuration.LEGACY_URL + '/users?email=' + encodeURIComponent(email),
    json: true,
    headers: { authorization: 'Bearer ' + configuration.LEGACY_TOKEN }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 404) return callback(null);
    if (response.statusCode !== 200) return callback(new Error('legacy answered ' + response.statusCode));
    callback(null, { user_id: body.id, email: body.email, name: body.name });
  });
}"""


class Legacy:
    """The legacy user service: its users, and every call it received."""

    def __init__(self, run_id: str):
        self.token = f"token-{run_id}"
        self.users = {
            f"alice{run_id}@legacy.example": {"id": 8001, "password": "Legacy-Alice-1", "name": "Alice Legacy", "plan": "gold"},
            f"carol{run_id}@legacy.example": {"id": 8003, "password": "Legacy-Carol-3", "name": "Carol Legacy", "plan": "free"},
            f"dave{run_id}@legacy.example": {"id": 8004, "password": "Legacy-Dave-4", "name": "Dave Legacy", "plan": "free"},
        }
        self.calls: list[str] = []
        legacy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep pytest output clean
                pass

            def send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def authorized(self):
                return self.headers.get("authorization") == f"Bearer {legacy.token}"

            def do_POST(self):
                legacy.calls.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if self.path != "/authenticate" or not self.authorized():
                    return self.send(403, {})
                u = legacy.users.get(body.get("email"))
                if not u or u["password"] != body.get("password"):
                    return self.send(401, {"error": "invalid"})
                return self.send(200, {"id": u["id"], "email": body["email"], "name": u["name"], "plan": u["plan"]})

            def do_GET(self):
                legacy.calls.append(self.path)
                url = urlparse(self.path)
                if url.path != "/users" or not self.authorized():
                    return self.send(403, {})
                email = parse_qs(url.query).get("email", [""])[0]
                u = legacy.users.get(email)
                if not u:
                    return self.send(404, {})
                return self.send(200, {"id": u["id"], "email": email, "name": u["name"]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def migration(env, mgmt, run_id, undo):
    legacy = Legacy(run_id)
    undo.append(legacy.close)
    app = mgmt.clients.create(
        name=f"sdk-py-lazy-app-{run_id}",
        app_type="regular_web",
        grant_types=["password", PASSWORD_REALM, MFA_OTP],
        token_endpoint_auth_method="client_secret_post",
    )
    undo.append(lambda: mgmt.clients.delete(app.client_id))
    name = f"sdk-py-lazy-{run_id}"
    connection = mgmt.connections.create(
        name=name,
        strategy="auth0",
        enabled_clients=[app.client_id],
        options={
            "enabledDatabaseCustomization": True,
            "import_mode": True,
            "customScripts": {"login": LOGIN, "get_user": GET_USER},
            "configuration": {"LEGACY_URL": legacy.url, "LEGACY_TOKEN": legacy.token},
        },
    )
    undo.append(lambda: mgmt.connections.delete(connection.id))
    return legacy, app, name, connection


def test_configuration_is_never_returned_in_clear(mgmt, migration):
    _legacy, _app, _name, connection = migration
    got = mgmt.connections.get(connection.id)
    configuration = dict(got.options)["configuration"]
    assert configuration == {"LEGACY_URL": "********", "LEGACY_TOKEN": "********"}


def test_first_login_migrates_then_stays_local(env, mgmt, run_id, undo, migration):
    legacy, app, name, _connection = migration
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    email = f"alice{run_id}@legacy.example"

    res = login_with_otp(
        tok, time.time(), username=email, password="Legacy-Alice-1", realm=name, scope="openid profile email"
    )
    undo.append(lambda: mgmt.users.delete("auth0|8001"))
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"http://{env.domain}/.well-known/jwks.json"),
        issuer=env.issuer,
        audience=app.client_id,
    )
    claims = verifier.verify(res["id_token"])
    assert claims["sub"] == "auth0|8001", "the legacy id becomes the user id"
    assert claims["email"] == email
    user = mgmt.users.get("auth0|8001")
    assert user.app_metadata == {"plan": "gold"}, "metadata stored with the credential"
    assert user.identities[0].connection == name
    methods = list(mgmt.users.authentication_methods.list("auth0|8001"))
    assert [m.type for m in methods] == ["totp", "email"], methods
    assert methods[1].email == email
    assert "JBSWY3DPEHPK3PXP" not in repr(methods), "the TOTP seed is never answered"

    calls = len(legacy.calls)
    # The next step's code: each code is good once, and the first login used this step's.
    again = login_with_otp(tok, time.time() + 30, username=email, password="Legacy-Alice-1", realm=name)
    assert again["access_token"]
    with pytest.raises(Auth0Error) as ei:
        tok.login(username=email, password="not-her-password", realm=name)
    assert (ei.value.status_code, ei.value.error_code) == (403, "invalid_grant")
    assert len(legacy.calls) == calls, "a migrated user is verified by Tern alone"


def test_unknown_user_is_refused_and_nothing_stored(env, mgmt, run_id, migration):
    _legacy, app, name, _connection = migration
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    email = f"alice{run_id}@legacy.example"
    with pytest.raises(Auth0Error) as ei:
        tok.login(username=email, password="wrong", realm=name)
    assert (ei.value.status_code, ei.value.error_code, ei.value.message) == (
        403,
        "invalid_grant",
        "Wrong email or password.",
    )
    with pytest.raises(NotFoundError):
        mgmt.users.get("auth0|8001")
    assert mgmt.users.list_users_by_email(email=email) == []


def test_a_legacy_user_cannot_sign_up_again(env, run_id, migration):
    legacy, app, name, _connection = migration
    db = Database(env.domain, app.client_id, protocol="http")
    with pytest.raises(Auth0Error) as ei:
        db.signup(email=f"carol{run_id}@legacy.example", password="A-new-Passw0rd!", connection=name)
    assert ei.value.status_code == 400
    assert ei.value.error_code == "invalid_signup"
    assert any(c.startswith("/users?email=") for c in legacy.calls), "get_user was asked"


def test_change_password_for_a_legacy_only_user(env, mgmt, run_id, undo, migration):
    _legacy, app, name, connection = migration
    db = Database(env.domain, app.client_id, protocol="http")
    email = f"dave{run_id}@legacy.example"
    answer = db.change_password(email=email, connection=name)
    assert answer == "We've just sent you an email to reset your password."
    unknown = db.change_password(email=f"nobody{run_id}@legacy.example", connection=name)
    assert unknown == answer, "the same answer whether or not the user exists"
    # The request writes no user: the legacy-only user is created, with the
    # new password in one insert, when the link is used. A ticket by email
    # (the Management client's) works the same way for this user.
    ticket = mgmt.tickets.change_password(email=email, connection_id=connection.id)
    link = urlparse(ticket.ticket)
    with pytest.raises(NotFoundError):
        mgmt.users.get("auth0|8004")
    new_password = f"Dave-Moved-{run_id}-9"
    r = requests.post(
        f"http://{env.domain}/u/reset-password",
        data={"ticket": parse_qs(link.query)["ticket"][0], "newPassword": new_password,
              "confirmNewPassword": new_password},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    undo.append(lambda: mgmt.users.delete("auth0|8004"))
    user = mgmt.users.get("auth0|8004")
    assert user.email == email
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    res = tok.login(username=email, password=new_password, realm=name, scope="openid")
    assert res["access_token"]
