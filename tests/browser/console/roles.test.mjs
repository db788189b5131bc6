// Roles from the Tern Console in Debian's Chromium, by clicking only: the
// first operator signs in through the setup link and Tern's own login,
// creates a role, gives it a permission of an API (chosen among the
// scopes the API defines), assigns it to a user from the user's page and
// finds the user on the role's users tab. Screenshots go to
// TERN_SCREENSHOTS. Run by crates/tern-server/tests/console_browser.rs,
// which made the API (TERN_API_NAME, scope TERN_SCOPE) and the user
// (TERN_USER_EMAIL) and checks the outcome through the Management API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { env, base, launch, submitLogin } from '../helpers.mjs';

const OPERATOR = 'ops@example.com';
const OPERATOR_PASSWORD = 'Operator-Pass-42';
const ROLE = 'Order clerks';
let browser;
const shots = env('TERN_SCREENSHOTS');

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

let n = 0;
async function shot(page, name) {
  n += 1;
  const file = path.join(shots, `roles-${String(n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

const click = (page, role, name) => page.getByRole(role, { name, exact: true }).click();
const nav = (page, name) => page.getByRole('navigation', { name: 'Console' })
  .getByRole('link', { name, exact: true }).click();
const tab = (page, name) => page.getByRole('navigation', { name: 'Role' })
  .getByRole('link', { name, exact: true }).click();

test('a role with a permission, assigned from the user page', async () => {
  const email = env('TERN_USER_EMAIL');
  const api = env('TERN_API_NAME');
  const scope = env('TERN_SCOPE');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();

  await page.goto(env('TERN_CONSOLE_SETUP_URL'));
  await page.getByLabel('Email', { exact: true }).fill(OPERATOR);
  await page.getByLabel('Password', { exact: true }).fill(OPERATOR_PASSWORD);
  await page.getByLabel('Repeat the password', { exact: true }).fill(OPERATOR_PASSWORD);
  await click(page, 'button', 'Create operator and sign in');
  await page.waitForURL((u) => u.pathname === '/u/login');
  await submitLogin(page, OPERATOR, OPERATOR_PASSWORD);
  await page.waitForURL(`${base()}/console`);

  // A role.
  await nav(page, 'Roles');
  await page.getByRole('heading', { name: 'Roles', exact: true }).waitFor();
  await click(page, 'link', 'Create a role');
  await page.getByLabel('Name', { exact: true }).fill(ROLE);
  await page.getByLabel('Description', { exact: true }).fill('Read the orders');
  await click(page, 'button', 'Create the role');
  await page.getByText('Created.').waitFor();
  await shot(page, 'role-created');

  // Its permission: one of the API's scopes.
  await tab(page, 'Permissions');
  await page.getByLabel('API and scope', { exact: true }).selectOption({ label: `${api}: ${scope}` });
  await click(page, 'button', 'Add the permission');
  await page.getByText('The permission is added.').waitFor();
  assert.match(await page.locator('#permissions').innerText(), new RegExp(`${api}[\\s\\S]*${scope}`));
  await shot(page, 'role-permissions');

  // The user's page: assign the role; the permission shows, through it.
  await nav(page, 'Users');
  await page.getByLabel('Search', { exact: true }).fill(`email:"${email}"`);
  await click(page, 'button', 'Search');
  await page.getByRole('link', { name: email }).click();
  await page.getByLabel('Assign a role', { exact: true }).selectOption({ label: ROLE });
  await click(page, 'button', 'Assign the role');
  await page.getByText('The role is assigned.').waitFor();
  assert.match(await page.locator('#user-roles').innerText(), new RegExp(ROLE));
  assert.match(await page.locator('#user-permissions').innerText(), new RegExp(`${scope}[\\s\\S]*through the role ${ROLE}`));
  await shot(page, 'user-roles');

  // The role's users tab lists them.
  await page.locator('#user-roles').getByRole('link', { name: ROLE, exact: true }).click();
  await tab(page, 'Users');
  assert.match(await page.locator('#members').innerText(), new RegExp(email.replace('.', '\\.')));
  await shot(page, 'role-users');
  await ctx.close();
});
