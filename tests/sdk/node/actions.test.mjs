// Post-login Actions through the v7 ManagementClient: create with a secret,
// deploy, bind to post-login, read back (secret by name only), and delete
// with force (which unbinds), so no other file's logins run the action.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { management, traced, expectManagementError, assertEnvelope } from './helpers.mjs';

const data = (r) => (r && r.data !== undefined ? r.data : r);

describe('actions', () => {
  test('create, deploy, bind, read and delete a post-login action', traced(async () => {
    const m = management();
    const created = data(await m.actions.create({
      name: `sdk-claims-${Date.now()}`,
      supported_triggers: [{ id: 'post-login', version: 'v3' }],
      code: "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://sdk.example/k', event.secrets.KEY); };",
      runtime: 'node22',
      secrets: [{ name: 'KEY', value: 'sdk-secret-value' }],
    }));
    assert.match(created.id, /^[0-9a-f-]{36}$/);

    const version = data(await m.actions.deploy(created.id));
    assert.equal(version.number, 1);
    assert.equal(version.deployed, true);

    const bound = data(await m.actions.triggers.bindings.updateMany('post-login', {
      bindings: [{ ref: { type: 'action_id', value: created.id }, display_name: 'sdk claims' }],
    }));
    assert.equal(bound.bindings.length, 1);
    assert.equal(bound.bindings[0].display_name, 'sdk claims');
    const page = await m.actions.triggers.bindings.list('post-login');
    assert.equal(page.data[0].action.id, created.id);

    const got = data(await m.actions.get(created.id));
    assert.equal(got.all_changes_deployed, true);
    assert.deepEqual(got.secrets.map((s) => s.name), ['KEY']);
    assert.ok(!JSON.stringify(got).includes('sdk-secret-value'), 'the secret value is never answered');

    const err = await expectManagementError(m.actions.delete(created.id), 400);
    assertEnvelope(err, 400, 'Bad Request');
    await m.actions.delete(created.id, { force: true });
    const after = await m.actions.triggers.bindings.list('post-login');
    assert.equal(after.data.length, 0);
    await expectManagementError(m.actions.get(created.id), 404);
  }));
});
