import { test, expect } from '@playwright/test';
import { cell, openPage, pickVersions, runWithKeyboard, unique } from './fixtures';

// Runs that overlap, and streams that break.

test('a new run while one streams cancels its request: only the new run\'s results show', async ({ page }) => {
  const problems = await openPage(page);
  const aborted: string[] = [];
  page.on('requestfailed', (request) => {
    if (request.url().endsWith('/api/run/stream')) aborted.push(request.failure()?.errorText ?? '');
  });
  await pickVersions(page, ['php:8.4-cli']);
  await runWithKeyboard(page, `<?php\n// ${unique()}\nsleep(3);\necho "first";\n`);
  await expect(cell(page, 'php:8.4-cli')).toHaveAttribute('data-status', 'running');
  await runWithKeyboard(page, `<?php\n// ${unique()}\necho "second";\n`);
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText('second');
  await expect.poll(() => aborted).toEqual(['net::ERR_ABORTED']);
  // Long after the first run would have finished, its result has not taken the cell.
  await page.waitForTimeout(3500);
  await expect(page.locator('.result-cell')).toHaveCount(1);
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText('second');
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  expect(problems).toEqual([]);
});

test('a stream that ends before every result keeps those shown and marks the rest failed', async ({ page }) => {
  const problems = await openPage(page);
  await pickVersions(page, ['php:7.4-cli', 'php:8.4-cli']);
  // The server's real answer, cut after its first result line.
  await page.route('**/api/run/stream', async (route) => {
    const response = await route.fetch();
    const lines = (await response.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    await route.fulfill({ response, body: `${lines[0]}\n` });
  });
  await runWithKeyboard(page, `<?php\n// ${unique()}\necho PHP_MAJOR_VERSION;\n`);
  await expect(page.locator('.result-cell[data-status="ok"]')).toHaveCount(1);
  await expect(page.locator('.result-cell[data-status="error"]')).toHaveCount(1);
  await expect(page.locator('.result-cell[data-status="error"] .message')).toContainText('no result');
  await expect(page.locator('.result-cell[data-status="ok"] .stdout')).toHaveText(/^[78]$/);
  await expect(page.locator('.run-button')).toHaveText('Run');
  expect(problems).toEqual([]);
});
