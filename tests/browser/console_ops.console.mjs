// The console's operations pages in a real Chromium, clicking as an
// operator does: sign in as the first operator through the setup link,
// upload an import file with a bad row and see that row's error, see the
// overview's numbers move, look at the logs, find a user and block and
// unblock them. Every page is saved as a screenshot (TERN_SCREENSHOTS).
// Run by crates/tern-server/tests/console_browser.rs (not by run.sh's
// default *.test.mjs: it needs its own server's setup link).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch } from './helpers.mjs';

const shots = env('TERN_SCREENSHOTS');
const OPERATOR = 'operator@example.com';
const PASSWORD = 'Console-Operator-77';

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/** The number a stat tile shows. */
async function tile(page, id) {
  return Number((await page.locator(`#${id}`).innerText()).trim());
}

test('an operator runs an import and manages a user from the console', async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

    // The first operator, through the one-time setup link.
    await page.goto(env('TERN_CONSOLE_SETUP_URL'));
    await shot(page, '01-setup');
    await page.getByLabel('Email').fill(OPERATOR);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create operator and sign in' }).click();
    await page.waitForURL(/\/console$/);
    const migratedBefore = await tile(page, 'migrated-users');
    const totalBefore = await tile(page, 'total-users');
    await shot(page, '02-overview-before');

    // An import with a bad row: its error shows with its index in the file.
    await page.getByRole('link', { name: 'Imports', exact: true }).click();
    await page.waitForURL(/\/console\/imports$/);
    await shot(page, '03-imports-empty');
    await page.getByLabel('Connection').selectOption({ label: env('TERN_IMPORT_CONNECTION') });
    await page.getByLabel('Users file').setInputFiles(env('TERN_IMPORT_FILE'));
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.waitForURL(/\/console\/imports\/imp_/);
    await page.locator('#formats').waitFor();
    for (let i = 0; i < 200 && (await page.locator('meta[http-equiv=refresh]').count()) > 0; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    assert.match(await page.locator('[data-format=bcrypt]').innerText(), /\b5\b/);
    await shot(page, '04-import-dry-run');

    await page.getByRole('link', { name: 'Imports', exact: true }).click();
    await page.getByLabel('Connection').selectOption({ label: env('TERN_IMPORT_CONNECTION') });
    await page.getByLabel('Users file').setInputFiles(env('TERN_IMPORT_FILE'));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.waitForURL(/\/console\/imports\/imp_/);
    // The page reloads itself while the jobs run; wait for it to settle.
    for (let i = 0; i < 200 && (await page.locator('meta[http-equiv=refresh]').count()) > 0; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    const bad = page.locator('tr.failed-row[data-index="2"]');
    await bad.waitFor();
    assert.match(await bad.innerText(), /INVALID|email/i);
    assert.equal(await tile(page, 'rows-inserted'), 4);
    assert.equal(await tile(page, 'rows-failed'), 1);
    await shot(page, '05-import');

    // The overview's numbers moved.
    await page.getByRole('link', { name: 'Migration overview' }).click();
    await page.waitForURL(/\/console$/);
    assert.equal(await tile(page, 'migrated-users'), migratedBefore + 4);
    assert.equal(await tile(page, 'total-users'), totalBefore + 4);
    await shot(page, '06-overview-after');

    // The log shows the import, with the operator as actor.
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.getByLabel('Type').fill('sapi');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Console: import started').first().waitFor();
    await shot(page, '07-logs');

    // Find a user; block and unblock them.
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('Search').fill(`email:"${env('TERN_CONSOLE_USER')}"`);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: env('TERN_CONSOLE_USER') }).click();
    await page.getByRole('button', { name: 'Block' }).click();
    await page.getByText('The user is blocked').waitFor();
    await shot(page, '08-user-blocked');
    await page.getByRole('button', { name: 'Unblock' }).click();
    await page.getByText('The user is unblocked').waitFor();
    await shot(page, '09-user-unblocked');

    // The other pages, for the record.
    await page.getByRole('link', { name: 'Exports' }).click();
    await shot(page, '10-exports');
    await page.getByRole('link', { name: 'Settings' }).click();
    await shot(page, '11-settings');

    // At a phone's width nothing overflows sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [url, name] of [['/console', '12-phone-overview'], ['/console/imports', '13-phone-imports']]) {
      await page.goto(new URL(url, page.url()).toString());
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${url} overflows by ${overflow}px at 390px`);
      await shot(page, name);
    }
  } finally {
    await browser.close();
  }
});
