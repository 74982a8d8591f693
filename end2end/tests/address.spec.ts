import { test, expect } from '@playwright/test';
import { cell, openPage, runOn, unique } from './fixtures';

// The address holds the ticked versions (?v=7.4,8.4), the result tab (view=) and the diff base
// (base=): links, reloads and Back/Forward show the same page.

const ticked = (page: import('@playwright/test').Page) =>
  page.locator('.version input:checked').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));

test('ticking versions updates ?v=, Back and Forward restore the ticks', async ({ page }) => {
  const problems = await openPage(page);
  await expect(page).toHaveURL(/\/$/);
  await page.getByRole('button', { name: 'none' }).click();
  await expect(page).toHaveURL(/\/\?v=$/);
  await page.locator('.version input[value="php:7.4-cli"]').check();
  await page.locator('.version input[value="php:8.4-cli"]').check();
  await expect(page).toHaveURL(/\/\?v=7\.4,8\.4$/);
  expect(await ticked(page)).toEqual(['php:7.4-cli', 'php:8.4-cli']);

  await page.goBack();
  await expect(page).toHaveURL(/\/\?v=7\.4$/);
  await expect.poll(() => ticked(page)).toEqual(['php:7.4-cli']);
  await page.goBack();
  await expect(page).toHaveURL(/\/\?v=$/);
  await expect.poll(() => ticked(page)).toEqual([]);
  await page.goBack();
  await expect.poll(() => ticked(page)).toHaveLength(4);
  await page.goForward();
  await page.goForward();
  await expect.poll(() => ticked(page)).toEqual(['php:7.4-cli']);
  expect(problems).toEqual([]);
});

test('a link with ?v= opens with those versions ticked, already in the server\'s HTML', async ({ page, request }) => {
  const html = await (await request.get('/?v=8.2,8.5')).text();
  const input = (image: string) => html.match(new RegExp(`<input[^>]*value="${image}"[^>]*>`))?.[0] ?? '';
  expect(input('php:8.2-cli')).toMatch(/\bchecked\b/);
  expect(input('php:8.5-cli')).toMatch(/\bchecked\b/);
  expect(input('php:7.4-cli')).not.toMatch(/\bchecked\b/);
  expect(input('php:8.4-cli')).not.toMatch(/\bchecked\b/);

  const problems = await openPage(page, '/?v=8.2,8.5');
  expect(await ticked(page)).toEqual(['php:8.2-cli', 'php:8.5-cli']);
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.locator('.result-cell')).toHaveCount(2);
  expect(problems).toEqual([]);
});

test('the tab and the diff base are in the address and a permalink opens with them', async ({ page, browser, request }) => {
  const problems = await openPage(page);
  await runOn(page, ['php:7.4-cli', 'php:8.4-cli'], `<?php\n// ${unique()}\necho PHP_MAJOR_VERSION, "\\n";\n`);
  // What ran is what the permalink ticks: no v= needed.
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+$/);
  const permalink = new URL(page.url()).pathname;

  await page.getByLabel('Diff against').selectOption('7.4');
  await expect(page).toHaveURL(`${permalink}?base=7.4`);
  await page.getByRole('button', { name: 'Grouped' }).click();
  await expect(page).toHaveURL(`${permalink}?view=grouped&base=7.4`);
  await expect(page.locator('.grouped-results')).toBeVisible();
  await page.goBack();
  await expect(page.locator('.result-grid')).toBeVisible();
  await expect(cell(page, 'php:8.4-cli').locator('.diff')).toBeVisible();
  await page.goBack();
  await expect(page.locator('.result-grid .diff')).toHaveCount(0);
  expect(problems).toEqual([]);

  // The server renders the address's state.
  const html = await (await request.get(`${permalink}?view=performance`)).text();
  expect(html).toMatch(/<table[^>]*class="performance"/);
  expect(html).toMatch(/aria-pressed="true"[^>]*>Performance</);

  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  const otherProblems = await openPage(other, `${permalink}?v=8.4&view=grid&base=7.4`);
  expect(await ticked(other)).toEqual(['php:8.4-cli']);
  await expect(other.getByLabel('Diff against')).toHaveValue('7.4');
  await expect(cell(other, 'php:8.4-cli').locator('.diff')).toBeVisible();
  await other.getByRole('button', { name: 'Performance' }).click();
  await expect(other).toHaveURL(`${permalink}?v=8.4&view=performance&base=7.4`);
  expect(otherProblems).toEqual([]);
  await fresh.close();
});

test('Back from a run\'s permalink to the playground it was run from shows that playground', async ({ page }) => {
  const problems = await openPage(page);
  const example = await page.locator('textarea.code-editor').inputValue();
  await runOn(page, ['php:8.4-cli'], `<?php echo "became a permalink"; // ${unique()}`);
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+$/);
  // The run replaced the last entry (/?v=…) with the permalink; Back is the playground as opened.
  await page.goBack();
  await expect(page).toHaveURL(/\/\?v=$/);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(page.locator('textarea.code-editor')).toHaveValue(example);
  await expect(page.locator('.result-cell')).toHaveCount(0);
  await page.goForward();
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+$/);
  await expect(page.locator('.result-cell .stdout')).toHaveText('became a permalink');
  expect(problems).toEqual([]);
});
