// Client-credentials tokens for the Management API, obtained by the SDKs themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, authentication, traced, mark, trafficSince, decodeJwt, issuer, expectAuthError,
} from './helpers.mjs';

function checkManagementToken(token) {
  const { header, payload } = decodeJwt(token);
  assert.equal(header.alg, 'RS256', `JWT alg: ${JSON.stringify(header)}`);
  assert.equal(payload.sub, `${env.clientId}@clients`, 'sub');
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  assert.ok(aud.includes(env.audience), `aud ${JSON.stringify(payload.aud)} should contain ${env.audience}`);
  assert.equal(payload.iss, issuer(), 'iss');
  assert.equal(typeof payload.exp, 'number', 'exp');
  assert.equal(typeof payload.iat, 'number', 'iat');
  assert.ok(payload.exp > Date.now() / 1000, 'token already expired');
  return payload;
}

test('ManagementClient fetches its own client-credentials token and uses it', traced(async () => {
  const mgmt = management();
  const before = mark();
  const page = await mgmt.users.list({ per_page: 1 });
  assert.ok(Array.isArray(page.data), 'users.list data');

  const seen = trafficSince(before);
  const tokenCall = seen.find((e) => e.url.endsWith('/oauth/token'));
  assert.ok(tokenCall, 'the SDK should have called /oauth/token');
  assert.equal(tokenCall.status, 200, `token endpoint status: ${tokenCall.responseBody}`);
  const form = new URLSearchParams(tokenCall.requestBody);
  assert.equal(form.get('grant_type'), 'client_credentials');
  assert.equal(form.get('audience'), env.audience);

  const tokenBody = JSON.parse(tokenCall.responseBody);
  assert.equal(typeof tokenBody.access_token, 'string');
  assert.equal(tokenBody.token_type, 'Bearer');
  assert.equal(typeof tokenBody.expires_in, 'number');

  const apiCall = seen.find((e) => e.url.includes('/api/v2/users'));
  assert.ok(apiCall, 'the SDK should have called /api/v2/users');
  assert.equal(apiCall.requestHeaders.authorization, `Bearer ${tokenBody.access_token}`);
  const payload = checkManagementToken(tokenBody.access_token);
  assert.equal(typeof payload.scope, 'string', 'scope claim');
  for (const s of ['read:users', 'create:users', 'update:users', 'delete:users', 'read:connections']) {
    assert.ok(payload.scope.split(' ').includes(s), `scope claim should include ${s}: ${payload.scope}`);
  }
}));

test('legacy AuthenticationClient.oauth.clientCredentialsGrant', traced(async () => {
  const auth = authentication();
  const res = await auth.oauth.clientCredentialsGrant({ audience: env.audience });
  assert.equal(res.status, 200);
  assert.equal(typeof res.data.access_token, 'string');
  assert.equal(res.data.token_type, 'Bearer');
  assert.equal(typeof res.data.expires_in, 'number');
  checkManagementToken(res.data.access_token);
}));

test('client-credentials with a wrong secret is 401 invalid_client', traced(async () => {
  const auth = authentication({ clientSecret: 'definitely-not-the-secret' });
  const err = await expectAuthError(auth.oauth.clientCredentialsGrant({ audience: env.audience }), 401);
  assert.equal(err.error, 'invalid_client');
}));
