// Connections through the v7 ManagementClient.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, traced, rand, cleanup, collect, expectManagementError, assertEnvelope,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const name = `sdk-node-${run}`;
const undo = [];
let created; // the connection created by this run

after(() => cleanup(undo));

describe('connections', () => {
  test('list filtered by strategy auth0 contains the default database connection', traced(async () => {
    const page = await mgmt.connections.list({ strategy: ['auth0'] });
    assert.ok(page.response && !Array.isArray(page.response),
      `the SDK reads {connections: [...]}; got ${JSON.stringify(page.response).slice(0, 200)}`);
    const all = await collect(page);
    assert.ok(all.length >= 1, 'at least one auth0 connection');
    for (const c of all) assert.equal(c.strategy, 'auth0', `strategy filter leaked ${c.name} (${c.strategy})`);
    const def = all.find((c) => c.name === env.connection);
    assert.ok(def, `${env.connection} not listed: ${all.map((c) => c.name).join(', ')}`);
    assert.equal(def.id, env.connectionId);
  }));

  test('list filtered by name', traced(async () => {
    const page = await mgmt.connections.list({ name: env.connection });
    assert.equal(page.data.length, 1, `name filter: ${page.data.map((c) => c.name).join(', ')}`);
    assert.equal(page.data[0].id, env.connectionId);
  }));

  test('get the default connection', traced(async () => {
    const c = await mgmt.connections.get(env.connectionId);
    assert.equal(c.id, env.connectionId);
    assert.equal(c.name, env.connection);
    assert.equal(c.strategy, 'auth0');
    assert.ok(/^con_[A-Za-z0-9]{16}$/.test(c.id), `connection id format: ${c.id}`);
  }));

  test('create a database connection', traced(async () => {
    created = await mgmt.connections.create({ name, strategy: 'auth0' });
    assert.equal(typeof created.id, 'string', 'id');
    undo.push(() => mgmt.connections.delete(created.id));
    assert.ok(/^con_[A-Za-z0-9]{16}$/.test(created.id), `connection id format: ${created.id}`);
    assert.equal(created.name, name);
    assert.equal(created.strategy, 'auth0');
  }));

  test('creating the same name again is 409', traced(async () => {
    assert.ok(created, 'needs the connection created above');
    const err = await expectManagementError(mgmt.connections.create({ name, strategy: 'auth0' }), 409);
    assertEnvelope(err, 409, 'Conflict');
  }));

  test('get the new connection', traced(async () => {
    assert.ok(created, 'needs the connection created above');
    const c = await mgmt.connections.get(created.id);
    assert.equal(c.id, created.id);
    assert.equal(c.name, name);
    assert.equal(c.strategy, 'auth0');
  }));

  test('update enabled_clients', traced(async () => {
    assert.ok(created, 'needs the connection created above');
    const u = await mgmt.connections.update(created.id, { enabled_clients: [env.clientId] });
    assert.equal(u.id, created.id);
    assert.deepEqual(u.enabled_clients, [env.clientId], 'PATCH response enabled_clients');
    const c = await mgmt.connections.get(created.id);
    assert.deepEqual(c.enabled_clients, [env.clientId], 'stored enabled_clients');
    const cleared = await mgmt.connections.update(created.id, { enabled_clients: [] });
    assert.deepEqual(cleared.enabled_clients, [], 'enabled_clients cleared');
  }));

  test('delete, then get is 404', traced(async () => {
    assert.ok(created, 'needs the connection created above');
    const res = await mgmt.connections.delete(created.id).withRawResponse();
    assert.ok([200, 202, 204].includes(res.rawResponse.status), `DELETE status ${res.rawResponse.status}`);
    const err = await expectManagementError(mgmt.connections.get(created.id), 404);
    assertEnvelope(err, 404, 'Not Found');
  }));
});
