"""Password-realm login with auth0-python 6.x's GetToken.login, for an
application client created (and enabled on the database connection) through
the Management API. The id_token is verified with the SDK's TokenVerifier
against the server's JWKS."""

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from conftest import create_realm_app, decode_jwt


@pytest.fixture
def app_and_user(env, mgmt, run_id, undo):
    app = create_realm_app(env, mgmt, f"sdk-py-app-{run_id}", undo)

    email = f"sdkpyrealm{run_id}@example.com"
    password = f"Pw!{run_id}-Aa1-long-enough"
    user = mgmt.users.create(connection=env.connection, email=email, password=password, email_verified=True)
    undo.append(lambda: mgmt.users.delete(user.user_id))
    return app, user, email, password


def test_login_with_realm(env, app_and_user):
    app, user, email, password = app_and_user
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")

    res = tok.login(username=email, password=password, realm=env.connection)
    assert isinstance(res.get("access_token"), str) and res["access_token"]
    assert res["token_type"] == "Bearer"
    assert "id_token" not in res, "no id_token without scope openid"

    res = tok.login(username=email, password=password, realm=env.connection, scope="openid profile email")
    assert isinstance(res.get("id_token"), str), res
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"http://{env.domain}/.well-known/jwks.json"),
        issuer=env.issuer,
        audience=app.client_id,
    )
    claims = verifier.verify(res["id_token"])
    assert claims["sub"] == user.user_id
    assert claims["email"] == email
    header, _ = decode_jwt(res["id_token"])
    assert header["alg"] == "RS256"


def test_login_wrong_password_is_403_invalid_grant(env, app_and_user):
    app, _user, email, password = app_and_user
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    with pytest.raises(Auth0Error) as ei:
        tok.login(username=email, password=password + "-wrong", realm=env.connection)
    assert ei.value.status_code == 403
    assert ei.value.error_code == "invalid_grant"
    assert ei.value.message == "Wrong email or password."
