// Resource-owner password grant with a realm (password-realm), through the
// legacy v4 AuthenticationClient bundled as `auth0/legacy`, for an application
// client created and enabled on the database connection through the v7
// ManagementClient. With scope=openid the SDK validates the id_token itself
// (issuer, audience, RS256 signature against /.well-known/jwks.json).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, authentication, traced, rand, cleanup, decodeJwt, issuer, expectAuthError,
  createRealmApp,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const email = `sdknoderealm${run}@example.com`;
const password = `Pw!${run}-Aa1-long-enough`;
const undo = [];
let app; let user;

after(() => cleanup(undo));

describe('password-realm grant', () => {
  test('create an application client and enable the connection for it', traced(async () => {
    app = await createRealmApp(mgmt, `sdk-node-app-${run}`, undo);

    user = await mgmt.users.create({ connection: env.connection, email, password, email_verified: true });
    undo.push(() => mgmt.users.delete(user.user_id));
    assert.ok(user.user_id.startsWith('auth0|'));
  }));

  test('right password: access_token', traced(async () => {
    assert.ok(app && user, 'needs the client and user created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const res = await auth.oauth.passwordGrant({ username: email, password, realm: env.connection });
    assert.equal(res.status, 200);
    assert.equal(typeof res.data.access_token, 'string');
    assert.ok(res.data.access_token.length > 0);
    assert.equal(res.data.token_type, 'Bearer');
    assert.equal(typeof res.data.expires_in, 'number');
    assert.equal(res.data.id_token, undefined, 'no id_token without scope openid');
  }));

  test('right password with scope openid: id_token (validated by the SDK)', traced(async () => {
    assert.ok(app && user, 'needs the client and user created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const res = await auth.oauth.passwordGrant({
      username: email, password, realm: env.connection, scope: 'openid profile email',
    });
    assert.equal(typeof res.data.access_token, 'string');
    assert.equal(typeof res.data.id_token, 'string', 'id_token');
    const { header, payload } = decodeJwt(res.data.id_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(typeof header.kid, 'string', 'kid in the id_token header');
    assert.equal(payload.iss, issuer());
    assert.equal(payload.sub, user.user_id);
    assert.equal(payload.aud, app.client_id);
    assert.equal(payload.email, email, 'email claim with scope email');
  }));

  test('grant_type=password together with realm is accepted too', traced(async () => {
    // @auth0/auth0-auth-js sends grant_type=password plus realm; reproduce that
    // body with the legacy SDK by rewriting grant_type through initOverrides.
    assert.ok(app && user, 'needs the client and user created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const res = await auth.oauth.passwordGrant({ username: email, password, realm: env.connection }, {
      initOverrides: async ({ init }) => {
        const body = new URLSearchParams(init.body);
        body.set('grant_type', 'password');
        return { body };
      },
    });
    assert.equal(typeof res.data.access_token, 'string');
  }));

  test('wrong password: 403 invalid_grant "Wrong email or password."', traced(async () => {
    assert.ok(app && user, 'needs the client and user created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const err = await expectAuthError(
      auth.oauth.passwordGrant({ username: email, password: `${password}-wrong`, realm: env.connection }), 403);
    assert.equal(err.error, 'invalid_grant');
    assert.equal(err.error_description, 'Wrong email or password.');
  }));

  test('unknown user: same 403 invalid_grant', traced(async () => {
    assert.ok(app, 'needs the client created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const err = await expectAuthError(auth.oauth.passwordGrant({
      username: `nobody${run}@example.com`, password, realm: env.connection,
    }), 403);
    assert.equal(err.error, 'invalid_grant');
    assert.equal(err.error_description, 'Wrong email or password.');
  }));
});
