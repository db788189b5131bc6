// A post-login action and the verification mail's template written in the
// Tern Console in Debian's Chromium, by clicking only. The first operator
// signs in through the setup link and Tern's own login; writes an action
// that adds a custom claim from a secret, saves the secret (never shown
// again), deploys it and adds it to the post-login flow; then edits the
// verify_email template's subject and body and sees the preview — the
// body in a sandboxed frame whose script does not run — then previews
// unsaved edits (and Liquid that does not parse) in the same frame. The Rust driver
// (crates/tern-server/tests/console_browser.rs) then logs in over HTTP and
// signs a user up, and checks the claim and the mail's subject.
// Screenshots go to TERN_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, base, launch, shooter, submitLogin } from '../helpers.mjs';

const OPERATOR = 'ops@example.com';
const OPERATOR_PASSWORD = 'Operator-Pass-42';
const CODE = `exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('https://shop.example/tier', event.secrets.TIER);
};`;
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const shot = shooter(env('TERN_SCREENSHOTS'));

const click = (page, role, name) => page.getByRole(role, { name, exact: true }).click();

test('an action and an email template from the console, by clicking', async () => {
  const secret = env('TERN_ACTION_SECRET');
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

  // The action: written, its secret saved, deployed.
  await click(page, 'link', 'Actions');
  await page.getByText('No action yet', { exact: false }).waitFor();
  await click(page, 'link', 'Create an action');
  await page.getByLabel('Name', { exact: true }).fill('tier-claim');
  await page.getByLabel('Code', { exact: true }).fill(CODE);
  await shot(page, 'action-new');
  await click(page, 'button', 'Create the action');
  await page.getByText('Created.').waitFor();
  await page.locator('#new_secret_0').fill('TIER');
  await page.locator('#new_secret_value_0').fill(secret);
  await click(page, 'button', 'Save the draft');
  await page.getByText('Saved.').waitFor();
  assert.ok(!(await page.content()).includes(secret), 'the secret is never shown back');
  assert.equal(await page.getByRole('row', { name: /TIER/ }).count(), 1);
  await click(page, 'button', 'Save and deploy');
  await page.getByText('Deployed: logins run this version from now on.').waitFor();
  await shot(page, 'action-deployed');

  // Bound: the post-login flow lists it.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Actions', exact: true }).click();
  assert.match(await page.getByRole('row', { name: /tier-claim/ }).innerText(), /deployed v1/);
  await page.getByRole('navigation', { name: 'Actions' }).getByRole('link', { name: 'Post-login flow', exact: true }).click();
  await page.getByLabel('Deployed action', { exact: true }).selectOption({ label: 'tier-claim' });
  await click(page, 'button', 'Add to the end of the flow');
  await page.getByText('Saved.').waitFor();
  assert.equal(await page.locator('#flow li').count(), 1);
  assert.match(await page.locator('#flow li').first().innerText(), /tier-claim/);
  await shot(page, 'post-login-flow');

  // The verification mail's template: enabled, a subject, a body with a
  // script that must not run anywhere.
  await click(page, 'link', 'Emails');
  await click(page, 'link', 'Verification email');
  await page.getByLabel('Enabled', { exact: true }).check();
  await page.getByLabel('From', { exact: true }).fill('Shop <support@shop.example>');
  await page.getByLabel('Subject', { exact: true }).fill(env('TERN_SUBJECT'));
  await page.getByLabel('Body (HTML, Liquid)', { exact: true }).fill(
    '<p id="hello">Hello {{ user.email }}</p><script>document.body.dataset.ran = "yes"; parent.document.title = "pwned";</script><a href="{{ url }}">Verify</a>',
  );
  await click(page, 'button', 'Save the template');
  await page.getByText('Saved.').waitFor();
  const frame = page.frameLocator('#preview');
  await frame.locator('#hello').waitFor();
  assert.equal(await frame.locator('#hello').innerText(), 'Hello jane.doe@example.com');
  assert.equal(await frame.locator('body').getAttribute('data-ran'), null, 'the preview runs no script');
  assert.ok(!(await page.title()).includes('pwned'));
  assert.match(await page.locator('#preview-subject').innerText(), /jane\.doe@example\.com/);
  await shot(page, 'email-template');

  // Edits previewed before saving: the frame shows the form's body, the
  // page stays, nothing is saved (the driver's signup mail still carries
  // the saved subject).
  await page.getByLabel('Subject', { exact: true }).fill('Never saved {{ user.email }}');
  await page.getByLabel('Body (HTML, Liquid)', { exact: true }).fill(
    '<p id="draft">Draft for {{ user.name }}</p><script>document.body.dataset.ran = "yes";</script>',
  );
  await click(page, 'button', 'Preview');
  await frame.locator('#draft').waitFor();
  assert.equal(await frame.locator('#draft').innerText(), 'Draft for Jane Doe');
  assert.equal(await frame.locator('body').getAttribute('data-ran'), null, 'the preview runs no script');
  assert.equal(new URL(page.url()).pathname, '/console/email-templates/verify_email');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), 'Never saved {{ user.email }}');
  await shot(page, 'email-template-draft-preview');
  // Liquid that does not parse: the frame says why.
  await page.getByLabel('Body (HTML, Liquid)', { exact: true }).fill('<p>{% if %}</p>');
  await click(page, 'button', 'Preview');
  await frame.getByText('The template does not render', { exact: false }).waitFor();
  assert.match(await frame.locator('body').innerText(), /not valid Liquid/);
  await shot(page, 'email-template-draft-error');
  // Reloaded: the saved template again.
  await page.reload();
  await frame.locator('#hello').waitFor();
  assert.equal(await page.getByLabel('Body (HTML, Liquid)', { exact: true }).inputValue().then((v) => v.includes('id="hello"')), true);
  await ctx.close();
});
