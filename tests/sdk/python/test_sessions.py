"""Single sign-on sessions with auth0-python 6.x: `users.sessions.list/delete`
and `sessions.get/update/delete/revoke`, against sessions made by real sign-ins
through /authorize and the hosted login page (test_authlib's Browser). The
code is exchanged with the SDK's own GetToken.authorization_code. Effects are
checked where they are felt: an ended session no longer signs the browser in
silently (prompt=none → login_required); a revoked one also takes its refresh
tokens (invalid_grant at /oauth/token)."""

import re
import secrets
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.errors import BadRequestError, NotFoundError

from conftest import decode_jwt, enable_on_connection
from test_authlib import CALLBACK, Browser, hidden_state


def authorize_url(client_id: str, scope: str, **extra) -> str:
    q = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": secrets.token_hex(8),
        **extra,
    }
    return "/authorize?" + urlencode(q)


def callback_params(r) -> dict:
    assert r.status_code == 302 and r.headers["location"].startswith(CALLBACK), (r.status_code, r.url)
    return {k: v[0] for k, v in parse_qs(urlparse(r.headers["location"]).query).items()}


def sign_in(b: Browser, client_id: str, email: str, password: str) -> str:
    """Sign `b` in through the hosted login page; the callback's code."""
    page = b.go("GET", authorize_url(client_id, "openid offline_access"))
    assert page.status_code == 200 and urlparse(page.url).path == "/u/login", (page.status_code, page.url)
    tx = hidden_state(page.text)
    done = b.go("POST", f"/u/login?state={tx}", data={"state": tx, "username": email, "password": password})
    return callback_params(done)["code"]


def silent(b: Browser, client_id: str) -> str:
    """`code` while the browser's session signs it in with prompt=none, else the error."""
    p = callback_params(b.go("GET", authorize_url(client_id, "openid", prompt="none")))
    return "code" if "code" in p else p["error"]


def is_date(v) -> bool:
    """The SDK parses Auth0's ISO 8601 dates into aware datetimes."""
    return isinstance(v, datetime) and v.tzinfo is not None


@pytest.fixture
def signed_in(env, mgmt, run_id, undo):
    """An application, a user and three browsers signed in as the user:
    (app, user, tok, [(browser, sid, refresh_token)])."""
    app = mgmt.clients.create(
        name=f"sdk-py-sessions-{run_id}",
        app_type="regular_web",
        callbacks=[CALLBACK],
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="client_secret_post",
    )
    undo.append(lambda: mgmt.clients.delete(app.client_id))
    enable_on_connection(env, mgmt, app.client_id, undo)
    email = f"sdkpysess{run_id}@example.com"
    password = f"Pw!{run_id}-Aa1-long-enough"
    user = mgmt.users.create(connection=env.connection, email=email, password=password, email_verified=True)
    undo.append(lambda: mgmt.users.delete(user.user_id))

    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    browsers = []
    for _ in range(3):
        b = Browser(f"http://{env.domain}")
        res = tok.authorization_code(code=sign_in(b, app.client_id, email, password), redirect_uri=CALLBACK)
        assert isinstance(res.get("refresh_token"), str), res
        _, claims = decode_jwt(res["id_token"])
        browsers.append((b, claims["sid"], res["refresh_token"]))
    assert len({sid for _, sid, _ in browsers}) == 3
    return app, user, tok, browsers


def refused(tok: GetToken, refresh_token: str):
    with pytest.raises(Auth0Error) as ei:
        tok.refresh_token(refresh_token)
    assert ei.value.error_code == "invalid_grant", ei.value


def test_list_pages_and_sessions_end(mgmt, run_id, signed_in):
    app, user, tok, browsers = signed_in
    sids = sorted(sid for _, sid, _ in browsers)
    for b, _, _ in browsers:
        assert silent(b, app.client_id) == "code"

    # take/from through the SDK's pager: every session once.
    pager = mgmt.users.sessions.list(user.user_id, take=2)
    assert len(pager.items) == 2 and pager.has_next
    listed = list(pager)
    assert sorted(s.id for s in listed) == sids
    one = listed[0]
    assert one.user_id == user.user_id
    for field in ("created_at", "updated_at", "authenticated_at", "idle_expires_at", "expires_at", "last_interacted_at"):
        assert is_date(getattr(one, field)), (field, getattr(one, field))
    assert one.expires_at > one.created_at
    assert [c.client_id for c in one.clients] == [app.client_id]
    assert one.authentication.methods[0].name == "pwd"
    last = mgmt.users.sessions.list(user.user_id, take=100)
    assert len(last.items) == 3 and not last.has_next

    got = mgmt.sessions.get(browsers[0][1])
    assert got.id == browsers[0][1] and got.user_id == user.user_id

    # delete: the browser signs in again; its refresh token stays (as Auth0).
    (b0, sid0, rt0), (b1, sid1, rt1), (b2, _, rt2) = browsers
    mgmt.sessions.delete(sid0)
    assert silent(b0, app.client_id) == "login_required"
    assert silent(b1, app.client_id) == "code"
    assert isinstance(tok.refresh_token(rt0)["access_token"], str)
    with pytest.raises(NotFoundError) as ei:
        mgmt.sessions.get(sid0)
    assert ei.value.status_code == 404 and ei.value.body["errorCode"] == "inexistent_session"
    assert sorted(s.id for s in mgmt.users.sessions.list(user.user_id, take=1)) == sorted([sid1, browsers[2][1]])

    # revoke: the session and the refresh tokens it issued.
    mgmt.sessions.revoke(sid1)
    assert silent(b1, app.client_id) == "login_required"
    refused(tok, rt1)
    assert isinstance(tok.refresh_token(rt2)["access_token"], str)

    # all of the user's sessions.
    mgmt.users.sessions.delete(user.user_id)
    assert silent(b2, app.client_id) == "login_required"
    assert list(mgmt.users.sessions.list(user.user_id)) == []


def test_unknown_user_is_404(mgmt, run_id):
    with pytest.raises(NotFoundError) as ei:
        mgmt.users.sessions.list(f"auth0|nobody{run_id}")
    assert ei.value.body["statusCode"] == 404
    assert ei.value.body["errorCode"] == "inexistent_user"
    assert re.search(r"\S", ei.value.body["message"])


def test_session_metadata_through_update(mgmt, signed_in):
    """`sessions.update`: metadata set, listed, kept through a use, refused
    when Auth0 would refuse it, cleared with None; `device` parsed."""
    app, user, _, browsers = signed_in
    b, sid, _ = browsers[0]
    got = mgmt.sessions.update(sid, session_metadata={"risk": "low"})
    assert got.id == sid and got.session_metadata == {"risk": "low"}
    listed = {s.id: s for s in mgmt.users.sessions.list(user.user_id, take=100)}
    assert listed[sid].session_metadata == {"risk": "low"}
    assert isinstance(listed[sid].device.initial_ip, str)
    assert isinstance(listed[sid].device.last_user_agent, str)
    assert silent(b, app.client_id) == "code"
    assert mgmt.sessions.get(sid).session_metadata == {"risk": "low"}
    with pytest.raises(BadRequestError):
        mgmt.sessions.update(sid, session_metadata={f"k{i}": "v" for i in range(26)})
    cleared = mgmt.sessions.update(sid, session_metadata=None)
    assert not cleared.session_metadata
