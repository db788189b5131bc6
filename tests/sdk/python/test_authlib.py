"""Authlib (OAuth2Session, authorization code + PKCE S256) against Tern's
/authorize and hosted login page. No browser: `requests` plays one honestly
— it keeps cookies, reads the hosted form, posts it, and follows each
redirect by hand until Tern sends it to the application's callback (which
is not fetched; the application would). The ID token is verified with
authlib's own JOSE against Tern's JWKS; a user imported with a TOTP
enrolment passes the code page with a code computed here (RFC 6238 on
Python's hmac)."""

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from urllib.parse import urljoin, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from conftest import enable_on_connection
from test_jobs import BCRYPT_HELLO, import_job, users_file

CALLBACK = "https://app.example/callback"


def totp(seed: bytes, at: float) -> str:
    """RFC 6238: HMAC-SHA1 of the 30-second step, dynamic truncation, 6 digits."""
    mac = hmac.new(seed, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def test_totp_matches_rfc_6238():
    seed = b"12345678901234567890"
    assert totp(seed, 59) == "287082"
    assert totp(seed, 1234567890) == "005924"


def hidden_state(html: str) -> str:
    m = re.search(r'name="state" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


class Browser:
    """A cookie jar and manual redirects: stops at the application's callback."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def go(self, method: str, url: str, **kw) -> requests.Response:
        r = self.request(method, urljoin(self.base, url), **kw)
        while r.status_code in (302, 303) and not r.headers["location"].startswith(CALLBACK):
            r = self.request("GET", urljoin(r.url, r.headers["location"]))
        return r

    def request(self, method: str, url: str, **kw) -> requests.Response:
        r = self.http.request(method, url, allow_redirects=False, timeout=30, **kw)
        # The suite's Tern believes it is https://TERN_DOMAIN (behind a TLS
        # proxy) but is reached over http: its cookies are `Secure`, which
        # this client would then never send back. Play the proxy's part.
        for c in self.http.cookies:
            c.secure = False
        return r


@pytest.fixture
def web_app(env, mgmt, run_id, undo):
    app = mgmt.clients.create(
        name=f"authlib-{run_id}",
        app_type="regular_web",
        callbacks=[CALLBACK],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="client_secret_post",
    )
    undo.append(lambda: mgmt.clients.delete(app.client_id))
    enable_on_connection(env, mgmt, app.client_id, undo)
    return app


def sign_in(env, app, email, password, code_for=None):
    base = f"http://{env.domain}"
    session = OAuth2Session(
        app.client_id,
        app.client_secret,
        scope="openid profile email",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(f"{base}/authorize", code_verifier=verifier, nonce="n-" + state_suffix())
    b = Browser(base)
    page = b.go("GET", url)
    assert page.status_code == 200 and "/u/login" in page.url, (page.status_code, page.url)
    tx = hidden_state(page.text)
    r = b.go("POST", f"/u/login?state={tx}", data={"state": tx, "username": email, "password": password})
    if code_for is not None:
        assert urlparse(r.url).path == "/u/mfa-otp-challenge", r.url
        r = b.go("POST", f"/u/mfa-otp-challenge?state={tx}", data={"state": tx, "code": code_for()})
    assert r.status_code == 302, (r.status_code, r.text[:500])
    callback = r.headers["location"]
    assert callback.startswith(CALLBACK), callback
    token = session.fetch_token(f"{base}/oauth/token", authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(f"{base}/.well-known/jwks.json", timeout=30).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={"iss": {"essential": True, "value": env.issuer}, "aud": {"essential": True, "value": app.client_id}},
    )
    claims.validate()
    return token, claims, session


_n = [0]


def state_suffix() -> str:
    _n[0] += 1
    return f"{time.time_ns()}-{_n[0]}"


def test_code_and_pkce_through_the_hosted_login(env, mgmt, web_app, run_id, undo):
    email = f"authlib{run_id}@example.com"
    password = f"Pw!{run_id}-Authlib-1"
    user = mgmt.users.create(connection=env.connection, email=email, password=password, email_verified=True)
    undo.append(lambda: mgmt.users.delete(user.user_id))
    token, claims, session = sign_in(env, web_app, email, password)
    assert claims["sub"] == user.user_id
    assert claims["email"] == email
    assert "amr" not in claims
    info = session.get(f"http://{env.domain}/userinfo").json()
    assert info["sub"] == user.user_id and info["email"] == email
    # An invented code is refused by the token endpoint.
    with pytest.raises(Exception, match="invalid_grant"):
        session.fetch_token(f"http://{env.domain}/oauth/token", code="not-the-code", code_verifier="x" * 50)


def test_user_imported_with_totp_signs_in_with_a_code(env, mgmt, web_app, run_id, undo):
    email = f"authlibtotp{run_id}@example.com"
    seed = b"12345678901234567890"
    row = {
        "email": email,
        "email_verified": True,
        "password_hash": BCRYPT_HELLO,
        "mfa_factors": [{"totp": {"secret": base64.b32encode(seed).decode().rstrip("=")}}],
    }
    done = import_job(env, mgmt, users_file([row]), upsert=False)
    assert done.status == "completed", done
    user = mgmt.users.list_users_by_email(email=email)[0]
    undo.append(lambda: mgmt.users.delete(user.user_id))
    token, claims, _ = sign_in(env, web_app, email, "hello", code_for=lambda: totp(seed, time.time()))
    assert claims["sub"] == user.user_id
    assert claims["amr"] == ["mfa"]
