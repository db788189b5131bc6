"""Client-credentials tokens with auth0-python's GetToken."""

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error

from conftest import decode_jwt


def test_client_credentials_token(env):
    tok = GetToken(env.domain, env.client_id, client_secret=env.client_secret, protocol="http")
    res = tok.client_credentials(env.audience)
    assert isinstance(res, dict), f"expected a JSON object, got {res!r}"
    assert res["token_type"] == "Bearer"
    assert isinstance(res["expires_in"], int)
    header, payload = decode_jwt(res["access_token"])
    assert header["alg"] == "RS256"
    assert payload["sub"] == f"{env.client_id}@clients"
    aud = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
    assert env.audience in aud
    assert payload["iss"] == env.issuer
    scopes = payload["scope"].split(" ")
    for s in ("read:users", "create:users", "update:users", "delete:users", "read:connections"):
        assert s in scopes, f"scope claim should include {s}: {payload['scope']}"


def test_client_credentials_wrong_secret_is_401_invalid_client(env):
    tok = GetToken(env.domain, env.client_id, client_secret="definitely-not-the-secret", protocol="http")
    with pytest.raises(Auth0Error) as ei:
        tok.client_credentials(env.audience)
    assert ei.value.status_code == 401
    assert ei.value.error_code == "invalid_client"
