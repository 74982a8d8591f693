import { test, expect } from '@playwright/test';
import { cell, expectCode, openPage as open, runOn, unique } from './fixtures';

// Permalinks, the result cache and the performance view, as a user meets them.

test('a run gets a permalink that shows the same code and results in a fresh browser', async ({ page, browser }) => {
  const code = `<?php\n// ${unique()}\necho "major ", PHP_MAJOR_VERSION, "\\n";\n`;
  await open(page);
  await runOn(page, ['php:7.4-cli', 'php:8.4-cli'], code);
  await expect(page).toHaveURL(/\/s\/[0-9a-z]{6,}$/);
  const permalink = new URL(page.url()).pathname;
  await expect(page.locator('.permalink')).toHaveText(permalink);

  // Another browser context: no shared storage, nothing but the link.
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  const problems = await open(other, permalink);
  await expectCode(other, code);
  await expect(other.locator('.result-cell')).toHaveCount(2);
  await expect(other.locator('.run-summary')).toContainText('2 saved results · first saved');
  await expect(cell(other, 'php:7.4-cli').locator('.stdout')).toHaveText('major 7\n');
  await expect(cell(other, 'php:8.4-cli').locator('.stdout')).toHaveText('major 8\n');
  // Re-run runs the saved versions: only those are ticked.
  await expect(other.locator('.version input:checked')).toHaveCount(2);
  await other.getByRole('button', { name: 'Run' }).click();
  await expect(other.locator('.run-summary')).toContainText('2 of 2 done');
  await expect(cell(other, 'php:8.4-cli').locator('.badge-cached')).toBeVisible();
  expect(problems).toEqual([]);
  await fresh.close();

  // Without JavaScript the server's HTML already holds everything.
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noScript.newPage();
  await plain.goto(permalink);
  await expect(plain.locator('.code-editor')).toHaveValue(code);
  await expect(cell(plain, 'php:7.4-cli').locator('.stdout')).toHaveText('major 7\n');
  await noScript.close();
});

test('an unknown permalink says so', async ({ page }) => {
  const response = await page.goto('/s/nosuchsnippet');
  expect(response?.status()).toBe(404);
  await expect(page.locator('.not-found')).toContainText('no saved snippet');
});

test('Copy link puts the full permalink on the clipboard', async ({ page, context, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await open(page);
  await runOn(page, ['php:8.2-cli'], `<?php echo "${unique()}";`);
  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`${baseURL}${new URL(page.url()).pathname}`);
});

test('the same code again comes from the cache until forced to run', async ({ page }) => {
  const code = `<?php // ${unique()}\necho mt_rand();`;
  await open(page);
  await runOn(page, ['php:8.4-cli'], code);
  await expect(cell(page, 'php:8.4-cli').locator('.badge-cached')).toHaveCount(0);
  const first = await cell(page, 'php:8.4-cli').locator('.stdout').textContent();

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(cell(page, 'php:8.4-cli').locator('.badge-cached')).toBeVisible();
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText(first!);

  await page.getByRole('button', { name: 'Re-run without cache' }).click();
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  await expect(cell(page, 'php:8.4-cli').locator('.badge-cached')).toHaveCount(0);
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).not.toHaveText(first!);
});

test('each version shows its CPU time and peak memory, compared in the performance view', async ({ page }) => {
  await open(page);
  await runOn(page, ['php:7.4-cli', 'php:8.5-cli'], `<?php // ${unique()}\n$s = str_repeat("x", 30 << 20); echo strlen($s);`);
  for (const image of ['php:7.4-cli', 'php:8.5-cli']) {
    await expect(cell(page, image).locator('.usage .cpu')).toHaveText(/^CPU \d+ ms$/);
    await expect(cell(page, image).locator('.usage .memory')).toHaveText(/^\d+\.\d MiB peak$/);
    await expect(cell(page, image).locator('.usage .memory')).toHaveAttribute('title', /kernel/);
  }
  await page.getByRole('button', { name: 'Performance' }).click();
  const rows = page.locator('table.performance tbody tr');
  await expect(rows).toHaveCount(2);
  for (const row of await rows.all()) {
    await expect(row.locator('td.measure')).toHaveCount(3);
    // 30 MiB of string: the peak is above it on every version.
    const memory = await row.locator('td.measure').nth(2).locator('.measure-value').textContent();
    expect(parseFloat(memory!)).toBeGreaterThan(30);
  }
  await expect(page.locator('table.performance thead th[title*="kernel"]')).toHaveCount(2);
});
