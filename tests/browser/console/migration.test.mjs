// A whole two-phase migration from the Tern Console in Debian's Chromium,
// by clicking only. The first operator sets a password through the setup
// link and signs in through Tern's own login (/authorize, the hosted page);
// creates a custom-database connection against a legacy PostgreSQL table,
// stores its URL as a configuration value, loads the PostgreSQL templates
// and tries the login script; creates an application and enables the
// connection for it. Phase one: a legacy user signs in through the
// application's /authorize flow in a second browser context and migrates;
// the overview counts them. Phase two: an import file with a bad row is
// dry-run, then imported, and the bad row's error shows; the overview's
// numbers move again. The operator reads the log, switches the scripts
// off, finds the migrated user and ends their session, blocks and
// unblocks an imported one, and signs out (console and Tern sessions).
// Every page is saved as a screenshot in TERN_SCREENSHOTS (a CI
// artifact). Run by crates/tern-server/tests/console_browser.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, base, launch, shooter, appServer, submitLogin } from '../helpers.mjs';

const OPERATOR = 'ops@example.com';
const OPERATOR_PASSWORD = 'Operator-Pass-42';
let browser;
let app;

before(async () => {
  browser = await launch();
  app = await appServer();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

const shot = shooter(env('TERN_SCREENSHOTS'));

/** Click a link or button by its visible name. */
const click = (page, role, name) => page.getByRole(role, { name, exact: true }).click();
/** Open a tab of the connection's page. */
const tab = (page, name) => page.getByRole('navigation', { name: 'Connection' })
  .getByRole('link', { name, exact: true }).click();
/** The number a stat tile shows. */
const tile = async (page, id) => Number((await page.locator(`#${id}`).innerText()).trim());

/** Reload an upload's page until it stops refreshing itself. */
async function settle(page) {
  for (let i = 0; i < 200 && (await page.locator('meta[http-equiv=refresh]').count()) > 0; i++) {
    await page.waitForTimeout(250);
    await page.reload();
  }
}

test('a whole two-phase migration from the console, by clicking', async () => {
  const email = env('TERN_LEGACY_EMAIL');
  const password = env('TERN_LEGACY_PASSWORD');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();

  // The first operator: a password through the one-time setup link, then
  // Tern's own login page (the email filled in) for the console.
  await page.goto(env('TERN_CONSOLE_SETUP_URL'));
  await shot(page, 'setup');
  await page.getByLabel('Email', { exact: true }).fill(OPERATOR);
  await page.getByLabel('Password', { exact: true }).fill(OPERATOR_PASSWORD);
  await page.getByLabel('Repeat the password', { exact: true }).fill(OPERATOR_PASSWORD);
  await click(page, 'button', 'Create operator and sign in');
  await page.waitForURL((u) => u.pathname === '/u/login');
  assert.equal(await page.inputValue('input[name=username]'), OPERATOR);
  await shot(page, 'console-login');
  await submitLogin(page, OPERATOR, OPERATOR_PASSWORD);
  await page.waitForURL(`${base()}/console`);
  const migratedBefore = await tile(page, 'migrated-users');
  const totalBefore = await tile(page, 'total-users');
  await shot(page, 'overview-before');

  // A custom-database connection.
  await click(page, 'link', 'Connections');
  await page.getByRole('heading', { name: 'Connections', exact: true }).waitFor();
  await shot(page, 'connections');
  await click(page, 'link', 'Create a connection');
  await page.getByLabel('Name', { exact: true }).fill('legacy-db');
  assert.equal(await page.getByLabel('Use my own database', { exact: true }).isChecked(), true);
  assert.equal(await page.getByLabel('Import users', { exact: true }).isChecked(), true);
  await page.getByLabel('Password policy', { exact: true }).selectOption('none');
  await shot(page, 'connection-new');
  await click(page, 'button', 'Create the connection');
  await page.getByText('Created.').waitFor();

  // Its configuration: the legacy database's URL, never shown again.
  await tab(page, 'Configuration');
  await page.locator('#new_key_0').fill('PG_URL');
  await page.locator('#new_value_0').fill(env('TERN_LEGACY_PG_URL'));
  await click(page, 'button', 'Save the configuration');
  await page.getByText('Saved.').waitFor();
  assert.ok(!(await page.content()).includes(env('TERN_LEGACY_PG_URL')));
  await shot(page, 'connection-configuration');

  // The login and get_user scripts from the PostgreSQL template.
  await tab(page, 'Custom database');
  for (const script of ['get_user', 'login']) {
    await page.getByRole('navigation', { name: 'Scripts' }).getByRole('link', { name: script, exact: true }).click();
    await page.getByLabel('Start from a template', { exact: true }).selectOption('postgres');
    await click(page, 'button', 'Load the template');
    await page.getByText('Not saved yet.').waitFor();
    await click(page, 'button', 'Save the script');
    await page.getByText('Saved.').waitFor();
  }

  // Try it: a wrong password, then the right one.
  await page.locator('#try-email').fill(email);
  await page.locator('#try-password').fill('not the password');
  await click(page, 'button', 'Try');
  await page.locator('#try-result').waitFor();
  assert.match(await page.locator('#try-result').textContent(), /WrongUsernameOrPasswordError/);
  await page.locator('#try-email').fill(email);
  await page.locator('#try-password').fill(password);
  await click(page, 'button', 'Try');
  await page.locator('#try-output').waitFor();
  assert.match(await page.locator('#try-output').textContent(), new RegExp(email.replace('.', '\\.')));
  assert.match(await page.locator('#try-elapsed').textContent(), /^\d+$/);
  await shot(page, 'connection-try');

  // An application for the hosted login, with the connection enabled.
  await click(page, 'link', 'Applications');
  await click(page, 'link', 'Create an application');
  await page.getByLabel('Name', { exact: true }).fill('Shop');
  await page.getByLabel('Type', { exact: true }).selectOption('regular_web');
  await click(page, 'button', 'Create the application');
  const clientId = (await page.locator('#client-id').textContent()).trim();
  const secret = (await page.locator('#client-secret').textContent()).trim();
  assert.ok(secret.length >= 32);
  await shot(page, 'application-created-secret-once');
  await click(page, 'link', "Continue to the application's settings");
  assert.ok(!(await page.content()).includes(secret), 'the secret is shown once');
  const callback = `${app.url}/cb`;
  await page.getByLabel('Allowed callback URLs', { exact: true }).fill(callback);
  await page.getByLabel('legacy-db', { exact: true }).check();
  await click(page, 'button', 'Save the application');
  await page.getByText('Saved.').waitFor();
  await shot(page, 'application-settings');

  // Phase one: a legacy user signs in through the application's
  // /authorize flow and migrates.
  const user = await browser.newContext();
  const p = await user.newPage();
  const authorize = new URL(`${base()}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: callback,
    scope: 'openid email', state: 'console-suite-state',
  }).toString();
  await p.goto(authorize.href);
  await p.waitForSelector('input[name=username]');
  await shot(p, 'hosted-login');
  await submitLogin(p, email, password);
  await p.waitForURL((u) => u.href.startsWith(callback));
  const back = new URL(p.url());
  assert.ok(back.searchParams.get('code'), p.url());
  assert.equal(back.searchParams.get('state'), 'console-suite-state');
  await user.close();

  // The overview counts the user as migrated.
  await click(page, 'link', 'Migration overview');
  assert.equal(await tile(page, 'migrated-users'), migratedBefore + 1);
  await shot(page, 'overview-after-lazy');
  await click(page, 'link', 'legacy-db');
  await page.locator('tr[data-source=lazy_login]').waitFor();
  await shot(page, 'connection-migration');

  // Phase two: the rest, imported from a file with a bad row — a dry run
  // first (hash formats, nothing written), then the import.
  await page.getByRole('link', { name: 'Imports', exact: true }).click();
  await page.waitForURL(/\/console\/imports$/);
  await shot(page, 'imports-empty');
  await page.getByLabel('Connection').selectOption({ label: 'legacy-db' });
  await page.getByLabel('Users file').setInputFiles(env('TERN_IMPORT_FILE'));
  await click(page, 'button', 'Dry run');
  await page.waitForURL(/\/console\/imports\/imp_/);
  await page.locator('#formats').waitFor();
  await settle(page);
  assert.match(await page.locator('[data-format=bcrypt]').innerText(), /\b5\b/);
  await shot(page, 'import-dry-run');

  await page.getByRole('link', { name: 'Imports', exact: true }).click();
  await page.getByLabel('Connection').selectOption({ label: 'legacy-db' });
  await page.getByLabel('Users file').setInputFiles(env('TERN_IMPORT_FILE'));
  await click(page, 'button', 'Import');
  await page.waitForURL(/\/console\/imports\/imp_/);
  await settle(page);
  const bad = page.locator('tr.failed-row[data-index="2"]');
  await bad.waitFor();
  assert.match(await bad.innerText(), /INVALID|email/i);
  assert.equal(await tile(page, 'rows-inserted'), 4);
  assert.equal(await tile(page, 'rows-failed'), 1);
  await shot(page, 'import');

  // The overview's numbers moved again.
  await page.getByRole('link', { name: 'Migration overview' }).click();
  await page.waitForURL(/\/console$/);
  assert.equal(await tile(page, 'migrated-users'), migratedBefore + 5);
  assert.equal(await tile(page, 'total-users'), totalBefore + 5);
  await shot(page, 'overview-after-import');

  // The log shows the import, with the operator as actor.
  await page.getByRole('link', { name: 'Logs' }).click();
  await page.getByLabel('Type').fill('sapi');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('Console: import started').first().waitFor();
  await shot(page, 'logs');

  // Cut-over: the scripts are switched off.
  await click(page, 'link', 'Connections');
  await click(page, 'link', 'legacy-db');
  await tab(page, 'Custom database');
  await click(page, 'button', 'Switch the scripts off');
  await page.getByText(/now answer without the legacy store/).waitFor();
  assert.match(await page.locator('#source').inputValue(), /The migration is over/);
  await shot(page, 'scripts-off');

  // The migrated user, found.
  await click(page, 'link', 'Users');
  await page.getByLabel('Search', { exact: true }).fill(`email:"${email}"`);
  await click(page, 'button', 'Search');
  await page.getByRole('link', { name: email }).click();
  assert.equal(await page.locator('#arrived').textContent(), 'lazy_login');
  await shot(page, 'user-found');
  // Their first login, the one that migrated them, is in their history.
  assert.ok((await page.locator('#history tr[data-type=s]').count()) >= 1);

  // Their session from the application's login, ended by clicking.
  const sessions = page.locator('#sessions tbody tr');
  assert.equal(await sessions.count(), 1);
  assert.match(await sessions.first().innerText(), /Shop/);
  await page.locator('#sessions').getByRole('button', { name: /^End the session started/ }).click();
  await page.getByText('The session is ended').waitFor();
  await page.locator('#no-sessions').waitFor();
  await shot(page, 'user-session-ended');

  // An imported user, blocked and unblocked.
  const imported = env('TERN_IMPORTED_EMAIL');
  await click(page, 'link', 'Users');
  await page.getByLabel('Search', { exact: true }).fill(`email:"${imported}"`);
  await click(page, 'button', 'Search');
  await page.getByRole('link', { name: imported }).click();
  assert.equal(await page.locator('#arrived').textContent(), 'bulk_import');
  await click(page, 'button', 'Block');
  await page.getByText('The user is blocked').waitFor();
  await shot(page, 'user-blocked');
  await click(page, 'button', 'Unblock');
  await page.getByText('The user is unblocked').waitFor();

  // The other pages, for the record.
  await page.getByRole('link', { name: 'Exports' }).click();
  await shot(page, 'exports');
  await page.getByRole('link', { name: 'Settings' }).click();
  await shot(page, 'settings');

  // At a phone's width nothing overflows sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [url, name] of [['/console', 'phone-overview'], ['/console/imports', 'phone-imports'],
    ['/console/connections', 'phone-connections']]) {
    await page.goto(`${base()}${url}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${url} overflows by ${overflow}px at 390px`);
    await shot(page, name);
  }

  // Signing out ends the console session and Tern's: the console asks for
  // the password again.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('button', { name: /^Sign out/ }).click();
  await page.getByText('You are signed out').waitFor();
  await shot(page, 'signed-out');
  await click(page, 'link', 'Sign in again');
  await page.waitForURL((u) => u.pathname === '/u/login');
  await ctx.close();
});
