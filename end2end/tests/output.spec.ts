import { test, expect } from '@playwright/test';
import { cell, openPage, runOn, unique } from './fixtures';

// The output of each cell: copy buttons, long outputs collapsed, identical cells hidden in a diff.

test('each stream has a copy button that puts its whole text on the clipboard', async ({ browser }) => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const problems = await openPage(page);
  await runOn(page, ['php:8.4-cli'], `<?php\n// ${unique()}\necho "to stdout\\n";\nfwrite(STDERR, "to stderr");\n`);
  const result = cell(page, 'php:8.4-cli');
  await result.getByRole('button', { name: 'Copy stdout' }).click();
  await expect(result.getByRole('button', { name: 'Copy stdout' })).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('to stdout\n');
  await result.getByRole('button', { name: 'Copy stderr' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('to stderr');
  expect(problems).toEqual([]);
  await context.close();
});

test('a long output shows its first 30 lines until "show all"; copy takes all of it', async ({ browser }) => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const problems = await openPage(page);
  await runOn(page, ['php:8.4-cli'], `<?php\n// ${unique()}\nfor ($i = 1; $i <= 100; $i++) echo "line $i\\n";\n`);
  const stdout = cell(page, 'php:8.4-cli').locator('pre.stdout');
  const lines = () => stdout.evaluate((pre) => pre.textContent!.split('\n').filter(Boolean).length);
  expect(await lines()).toBe(30);
  await expect(stdout).not.toContainText('line 31');
  await cell(page, 'php:8.4-cli').getByRole('button', { name: 'Copy stdout' }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied.split('\n').filter(Boolean)).toHaveLength(100);

  await cell(page, 'php:8.4-cli').getByRole('button', { name: 'show all 100 lines' }).click();
  await expect(stdout).toContainText('line 100');
  expect(await lines()).toBe(100);
  await expect(cell(page, 'php:8.4-cli').getByRole('button', { name: /show all/ })).toHaveCount(0);
  expect(problems).toEqual([]);
  await context.close();
});

test('in a diff, "hide identical to base" hides the cells whose output matches the base', async ({ page }) => {
  const problems = await openPage(page);
  // 8.2 and 8.4 agree (false), 7.4 differs (true).
  await runOn(page, ['php:7.4-cli', 'php:8.2-cli', 'php:8.4-cli'], `<?php\n// ${unique()}\nvar_dump(0 == "a");\n`);
  await expect(page.getByLabel('Hide identical to base')).toHaveCount(0);
  await page.getByLabel('Diff against').selectOption('8.4');
  await page.getByLabel('Hide identical to base').check();
  await expect(cell(page, 'php:8.2-cli')).toBeHidden();
  await expect(cell(page, 'php:7.4-cli')).toBeVisible();
  await expect(cell(page, 'php:8.4-cli')).toBeVisible();
  await page.getByLabel('Hide identical to base').uncheck();
  await expect(cell(page, 'php:8.2-cli')).toBeVisible();
  // Only the grid has cells to hide.
  await page.getByRole('button', { name: 'Grouped' }).click();
  await expect(page.getByLabel('Hide identical to base')).toHaveCount(0);
  expect(problems).toEqual([]);
});
