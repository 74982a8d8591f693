import { test, expect } from '@playwright/test';
import { cell, openPage, runOn, unique } from './fixtures';

// Beside a change of output, what else changed between the two versions' builds: here the
// snippet prints the PCRE each version is built with, so the output changes where PCRE does,
// and the page must say which PCRE each side has — the same text the cells printed.

test('a change of output names the libraries the two builds differ in', async ({ page }) => {
  const code = `<?php // ${unique()}\necho PCRE_VERSION;\n`;
  const problems = await openPage(page);
  await runOn(page, ['php:8.2-cli', 'php:8.4-cli'], code);
  const older = (await cell(page, 'php:8.2-cli').locator('.stdout').innerText()).trim();
  const newer = (await cell(page, 'php:8.4-cli').locator('.stdout').innerText()).trim();
  expect(older).not.toBe(newer);

  await page.getByRole('button', { name: 'Grouped' }).click();
  const note = page.locator('.build-difference');
  await expect(note).toHaveCount(1);
  await expect(note.locator('summary')).toContainText(/^PHP 8\.2\.\d+ → 8\.4\.\d+, their builds differ too: libraries \(.*PCRE.*\)/);
  await note.locator('summary').click();
  const pcre = note.locator('.build-changes tr', { has: page.getByRole('rowheader', { name: 'PCRE', exact: true }) });
  await expect(pcre.locator('td')).toHaveText([older, newer]);
  await page.locator('.grouped-results').screenshot({ path: 'test-results/build-difference.png' });
  expect(problems).toEqual([]);
});

test('a permalink explains its change of output too, once the page runs', async ({ page }) => {
  await openPage(page);
  await runOn(page, ['php:7.4-cli', 'php:8.5-cli'], `<?php // ${unique()}\necho LIBXML_DOTTED_VERSION;\n`);
  await page.goto(page.url().replace(/(\?.*)?$/, '?view=grouped'));
  await expect(page.locator('.build-difference summary')).toContainText('libxml2');
});
