// Clients, resource servers and client grants through the v7 ManagementClient,
// then a client-credentials token for the new client and API.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  management, authentication, traced, rand, cleanup, collect, decodeJwt, issuer,
  expectManagementError, expectAuthError, assertEnvelope,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const identifier = `https://sdk-node-${run}.example.com/api`;
const undo = [];
let rs; let client; let grant;

after(() => cleanup(undo));

describe('clients, resource servers, client grants', () => {
  test('create a resource server', traced(async () => {
    rs = await mgmt.resourceServers.create({
      name: `SDK Node API ${run}`,
      identifier,
      scopes: [{ value: 'read:things', description: 'Read things' }, { value: 'write:things' }],
      signing_alg: 'RS256',
      token_lifetime: 3600,
    });
    assert.equal(typeof rs.id, 'string', 'id');
    undo.push(() => mgmt.resourceServers.delete(rs.id));
    assert.equal(rs.identifier, identifier);
    assert.deepEqual(rs.scopes.map((s) => s.value).sort(), ['read:things', 'write:things']);
    const got = await mgmt.resourceServers.get(rs.id);
    assert.equal(got.identifier, identifier);
  }));

  test('create a machine-to-machine client', traced(async () => {
    client = await mgmt.clients.create({
      name: `sdk-node-m2m-${run}`,
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    assert.equal(typeof client.client_id, 'string', 'client_id');
    undo.push(() => mgmt.clients.delete(client.client_id));
    assert.equal(typeof client.client_secret, 'string', 'client_secret returned on create');
    assert.ok(client.client_secret.length >= 32, 'client_secret length');
    assert.equal(client.name, `sdk-node-m2m-${run}`);
    assert.equal(client.app_type, 'non_interactive');
    assert.deepEqual(client.grant_types, ['client_credentials']);
    const got = await mgmt.clients.get(client.client_id);
    assert.equal(got.client_id, client.client_id);
    assert.equal(got.name, client.name);
  }));

  test('create a client grant', traced(async () => {
    assert.ok(rs && client, 'needs the resource server and client created above');
    grant = await mgmt.clientGrants.create({ client_id: client.client_id, audience: identifier, scope: ['read:things'] });
    assert.equal(typeof grant.id, 'string', 'id');
    undo.push(() => mgmt.clientGrants.delete(grant.id));
    assert.equal(grant.client_id, client.client_id);
    assert.equal(grant.audience, identifier);
    assert.deepEqual(grant.scope, ['read:things']);
  }));

  test('list clients, resource servers and client grants', traced(async () => {
    assert.ok(rs && client && grant, 'needs the objects created above');
    const clients = await collect(await mgmt.clients.list({ per_page: 50 }));
    assert.ok(clients.some((c) => c.client_id === client.client_id), 'new client listed');

    const apis = await collect(await mgmt.resourceServers.list({ per_page: 50 }));
    assert.ok(apis.some((a) => a.identifier === identifier), 'new resource server listed');

    const grants = await collect(await mgmt.clientGrants.list({ client_id: client.client_id }));
    assert.equal(grants.length, 1, `grants for the new client: ${JSON.stringify(grants)}`);
    assert.equal(grants[0].id, grant.id);
    const byAudience = await collect(await mgmt.clientGrants.list({ audience: identifier }));
    assert.deepEqual(byAudience.map((g) => g.id), [grant.id], 'grants filtered by audience');
  }));

  test('the new client gets a token for the new API with the granted scope', traced(async () => {
    assert.ok(rs && client && grant, 'needs the objects created above');
    const auth = authentication({ clientId: client.client_id, clientSecret: client.client_secret });
    const res = await auth.oauth.clientCredentialsGrant({ audience: identifier });
    const { payload } = decodeJwt(res.data.access_token);
    assert.equal(payload.sub, `${client.client_id}@clients`);
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    assert.ok(aud.includes(identifier), `aud ${JSON.stringify(payload.aud)}`);
    assert.equal(payload.iss, issuer());
    assert.equal(payload.scope, 'read:things');
    assert.equal(res.data.expires_in, 3600, 'expires_in follows the API token_lifetime');
  }));

  test('without a grant for an audience the token request is refused', traced(async () => {
    assert.ok(client, 'needs the client created above');
    const auth = authentication({ clientId: client.client_id, clientSecret: client.client_secret });
    const err = await expectAuthError(
      auth.oauth.clientCredentialsGrant({ audience: `https://sdk-node-${run}.example.com/unknown` }), 403);
    assert.equal(err.error, 'access_denied');
  }));

  test('delete grant, resource server and client; then get is 404', traced(async () => {
    assert.ok(rs && client && grant, 'needs the objects created above');
    await mgmt.clientGrants.delete(grant.id);
    const grants = await collect(await mgmt.clientGrants.list({ client_id: client.client_id }));
    assert.deepEqual(grants, [], 'grant removed');
    await mgmt.resourceServers.delete(rs.id);
    const e1 = await expectManagementError(mgmt.resourceServers.get(rs.id), 404);
    assertEnvelope(e1, 404, 'Not Found');
    await mgmt.clients.delete(client.client_id);
    const e2 = await expectManagementError(mgmt.clients.get(client.client_id), 404);
    assertEnvelope(e2, 404, 'Not Found');
  }));
});
