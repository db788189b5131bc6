// Signing keys through the v7 ManagementClient: list, get, rotate, revoke.
// Runs last among the Node files: revoking a key ends the tokens it signed,
// so the revocation uses a client whose token the new key signed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { management, traced, expectManagementError, assertEnvelope } from './helpers.mjs';

const data = (r) => (r && r.data !== undefined ? r.data : r);

describe('signing keys', () => {
  test('rotate: the next key becomes current; only a previous key can be revoked', traced(async () => {
    const before = management();
    const keys = data(await before.keys.signing.list());
    const current = keys.find((k) => k.current);
    const next = keys.find((k) => k.next);
    assert.ok(current && next, `a current and a next key: ${JSON.stringify(keys)}`);
    assert.match(current.cert, /^-----BEGIN CERTIFICATE-----\r\n/);
    assert.match(current.fingerprint, /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    assert.equal(current.thumbprint, current.fingerprint.replaceAll(':', ''));
    const got = data(await before.keys.signing.get(next.kid));
    assert.equal(got.next, true);

    const rotated = data(await before.keys.signing.rotate());
    assert.equal(typeof rotated.kid, 'string');
    assert.match(rotated.cert, /^-----BEGIN CERTIFICATE-----/);
    const after = management();
    const now = data(await after.keys.signing.list());
    assert.equal(now.find((k) => k.current).kid, next.kid, 'the former next key signs');
    assert.equal(now.find((k) => k.kid === current.kid).previous, true);
    assert.equal(now.find((k) => k.next).kid, rotated.kid);

    const err = await expectManagementError(after.keys.signing.revoke(next.kid), 400);
    assertEnvelope(err, 400, 'Bad Request');
    await expectManagementError(after.keys.signing.revoke('no-such-kid'), 404);

    const revoked = data(await after.keys.signing.revoke(current.kid));
    assert.equal(revoked.kid, current.kid);
    // `before` holds a token the revoked key signed.
    await expectManagementError(before.keys.signing.list(), 401);
    const listed = data(await after.keys.signing.list());
    const gone = listed.find((k) => k.kid === current.kid);
    assert.equal(gone.revoked, true);
    assert.equal(typeof gone.revoked_at, 'string');
  }));
});
