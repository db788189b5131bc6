"""Refresh tokens, grants and device credentials with auth0-python 6.x —
Auth0's three views of what Tern keeps as one grant per login with
offline_access: `users.refresh_token.list/delete`, `refresh_tokens.list/get/
update/delete/revoke`, `user_grants.list/delete/delete_by_user_id`,
`device_credentials.list/delete`. Tokens come from GetToken.login
(password-realm); each revocation is checked at /oauth/token (invalid_grant)
while the other tokens keep working. The SDK's pydantic models parse every
response."""

from datetime import datetime

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.errors import BadRequestError, NotFoundError

from conftest import create_realm_app


@pytest.fixture
def world(env, mgmt, run_id, undo):
    app = create_realm_app(env, mgmt, f"sdk-py-rt-{run_id}", undo, extra_grants=["refresh_token"])
    email = f"sdkpyrt{run_id}@example.com"
    password = f"Pw!{run_id}-Aa1-long-enough"
    user = mgmt.users.create(connection=env.connection, email=email, password=password, email_verified=True)
    undo.append(lambda: mgmt.users.delete(user.user_id))
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")

    def login() -> str:
        res = tok.login(username=email, password=password, realm=env.connection, scope="openid offline_access")
        assert isinstance(res.get("refresh_token"), str), res
        return res["refresh_token"]

    return app, user, tok, login


def works(tok, rt) -> bool:
    try:
        return isinstance(tok.refresh_token(rt)["access_token"], str)
    except Auth0Error as e:
        assert e.error_code == "invalid_grant", e
        return False


def live_ids(mgmt, user) -> list[str]:
    return sorted(t.id for t in mgmt.users.refresh_token.list(user.user_id, take=1))


def test_tokens_listed_read_and_revoked(mgmt, world):
    app, user, tok, login = world
    rts = [login() for _ in range(3)]

    pager = mgmt.users.refresh_token.list(user.user_id, take=2)
    assert len(pager.items) == 2 and pager.has_next
    listed = list(pager)
    ids = [t.id for t in listed]
    assert len(set(ids)) == 3, ids
    for t in listed:
        assert t.user_id == user.user_id and t.client_id == app.client_id
        assert isinstance(t.created_at, datetime) and t.created_at.tzinfo is not None, t.created_at
        assert t.rotating is False
        assert "offline_access" in t.resource_servers[0].scopes
    assert listed[0].expires_at is None, "the application's default: non-expiring"
    assert sorted(t.id for t in mgmt.refresh_tokens.list(user_id=user.user_id, take=1)) == sorted(ids)

    got = mgmt.refresh_tokens.get(ids[0])
    assert got.id == ids[0] and got.user_id == user.user_id and got.client_id == app.client_id

    mgmt.refresh_tokens.delete(ids[0])
    with pytest.raises(NotFoundError) as ei:
        mgmt.refresh_tokens.get(ids[0])
    assert ei.value.body["errorCode"] == "inexistent_refresh_token"
    assert live_ids(mgmt, user) == sorted(ids[1:])
    outcomes = [works(tok, rt) for rt in rts]
    assert outcomes.count(False) == 1, outcomes

    mgmt.refresh_tokens.revoke(ids=[ids[1]])
    assert live_ids(mgmt, user) == [ids[2]]
    assert [works(tok, rt) for rt in rts].count(True) == 1

    mgmt.users.refresh_token.delete(user.user_id)
    assert live_ids(mgmt, user) == []
    assert not any(works(tok, rt) for rt in rts)


def test_grants_page_and_revoke(mgmt, world):
    app, user, tok, login = world
    rts = [login() for _ in range(3)]

    pager = mgmt.user_grants.list(user_id=user.user_id, per_page=2)
    assert len(pager.items) == 2
    assert pager.response.total == 3, "include_totals: the SDK asks for the totals"
    grants = list(pager)
    assert sorted(g.id for g in grants) == live_ids(mgmt, user), "a grant is a refresh token"
    for g in grants:
        assert g.user_id == user.user_id and g.client_id == app.client_id
        assert "offline_access" in g.scope

    mgmt.user_grants.delete(grants[0].id)
    assert [works(tok, rt) for rt in rts].count(False) == 1
    assert sorted(g.id for g in mgmt.user_grants.list(client_id=app.client_id)) == sorted(g.id for g in grants[1:])

    mgmt.user_grants.delete_by_user_id(user_id=user.user_id)
    assert not any(works(tok, rt) for rt in rts)
    assert list(mgmt.user_grants.list(user_id=user.user_id)) == []


def test_device_credentials_list_and_delete(mgmt, world):
    app, user, tok, login = world
    rts = [login() for _ in range(2)]

    creds = list(mgmt.device_credentials.list(user_id=user.user_id, per_page=1))
    assert len(creds) == 2
    for c in creds:
        assert c.id.startswith("dcr_") and len(c.id) == 20
        assert c.type == "refresh_token"
        assert c.user_id == user.user_id and c.client_id == app.client_id
    assert list(mgmt.device_credentials.list(user_id=user.user_id, type="public_key")) == []

    mgmt.device_credentials.delete(creds[0].id)
    assert [works(tok, rt) for rt in rts].count(False) == 1
    assert [c.id for c in mgmt.device_credentials.list(user_id=user.user_id)] == [creds[1].id]
    # Gone already: accepted and nothing changes (Auth0's API description
    # lists no 404 here).
    mgmt.device_credentials.delete(creds[0].id)
    assert [c.id for c in mgmt.device_credentials.list(user_id=user.user_id)] == [creds[1].id]
    with pytest.raises(BadRequestError):
        mgmt.device_credentials.delete("not-a-credential")


def test_refresh_token_metadata_through_update(mgmt, world):
    """`refresh_tokens.update`: metadata set, kept through an exchange,
    refused past Auth0's bounds; where the token was issued is parsed."""
    _, user, tok, login = world
    rt = login()
    (token_id,) = live_ids(mgmt, user)
    got = mgmt.refresh_tokens.update(token_id, refresh_token_metadata={"device": "kiosk-4"})
    assert got.id == token_id and got.refresh_token_metadata == {"device": "kiosk-4"}
    assert works(tok, rt)
    again = mgmt.refresh_tokens.get(token_id)
    assert again.refresh_token_metadata == {"device": "kiosk-4"}
    assert isinstance(again.device.initial_ip, str)
    with pytest.raises(BadRequestError):
        mgmt.refresh_tokens.update(token_id, refresh_token_metadata={"v": "x" * 256})
