// The Tern Console in Debian's Chromium, by clicking only: the first
// operator signs in with the setup link, creates a custom-database
// connection against a legacy PostgreSQL table, stores its URL as a
// configuration value, loads the PostgreSQL templates, tries the login
// script in the Try panel, creates an application and enables the
// connection for it; a user of the legacy table then signs in through
// Tern's hosted login (/authorize → /u/login) in a second browser context
// and migrates; the overview's numbers move; the operator switches the
// scripts off and finds the user. Every page is saved as a screenshot in
// TERN_SCREENSHOTS (a CI artifact). Run by
// crates/tern-server/tests/console_browser_connections.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { env, base, launch, appServer, submitLogin } from '../helpers.mjs';

let browser;
let app;
const shots = env('TERN_SCREENSHOTS');

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  browser = await launch();
  app = await appServer();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

let n = 0;
async function shot(page, name) {
  n += 1;
  const file = path.join(shots, `${String(n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/** Click a link or button by its visible name. */
const click = (page, role, name) => page.getByRole(role, { name, exact: true }).click();
/** Open a tab of the connection's page. */
const tab = (page, name) => page.getByRole('navigation', { name: 'Connection' })
  .getByRole('link', { name, exact: true }).click();

test('a whole lazy migration from the console, by clicking', async () => {
  const email = env('TERN_LEGACY_EMAIL');
  const password = env('TERN_LEGACY_PASSWORD');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();

  // The first operator, through the one-time setup link.
  await page.goto(env('TERN_CONSOLE_SETUP_URL'));
  await shot(page, 'setup');
  await page.getByLabel('Email', { exact: true }).fill('ops@example.com');
  await page.getByLabel('Password', { exact: true }).fill('Operator-Pass-42');
  await page.getByLabel('Repeat the password', { exact: true }).fill('Operator-Pass-42');
  await page.getByRole('button').click();
  await page.waitForURL(`${base()}/console`);
  const before = Number(await page.locator('#migrated-users').textContent());
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

  // A legacy user signs in through Tern's hosted login and migrates.
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
  assert.equal(Number(await page.locator('#migrated-users').textContent()), before + 1);
  await shot(page, 'overview-after');
  await click(page, 'link', 'legacy-db');
  await page.locator('tr[data-source=lazy_login]').waitFor();
  await shot(page, 'connection-migration');

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

  // The same pages at a phone's width.
  await page.setViewportSize({ width: 390, height: 844 });
  await click(page, 'link', 'Connections');
  await shot(page, 'phone-connections');
  await click(page, 'link', 'legacy-db');
  await shot(page, 'phone-connection-settings');
  await ctx.close();
});
