import { test, expect } from '@playwright/test';
import { cell, openPage, pickVersions, runWithKeyboard, setCode } from './fixtures';

test('the page hydrates, lists the four PHP versions and logs no errors', async ({ page }) => {
  const problems = await openPage(page);
  const versions = page.locator('.version input');
  await expect(versions).toHaveCount(4);
  for (const image of ['php:7.4-cli', 'php:8.2-cli', 'php:8.4-cli', 'php:8.5-cli']) {
    await expect(page.locator(`.version input[value="${image}"]`)).toBeChecked();
  }
  await expect(page.locator('.run-button')).toBeEnabled();
  expect(problems).toEqual([]);
});

test('Ctrl+Enter runs the code on the picked versions and each cell shows its output', async ({ page }) => {
  const problems = await openPage(page);
  await pickVersions(page, ['php:7.4-cli', 'php:8.4-cli']);
  await runWithKeyboard(page, '<?php\nvar_dump(0 == "a");\nfwrite(STDERR, "to stderr");\n');

  await expect(page.locator('.result-cell')).toHaveCount(2);
  await expect(cell(page, 'php:7.4-cli')).toHaveAttribute('data-status', 'ok');
  await expect(cell(page, 'php:7.4-cli').locator('.stdout')).toHaveText('bool(true)\n');
  await expect(cell(page, 'php:8.4-cli')).toHaveAttribute('data-status', 'ok');
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText('bool(false)\n');
  await expect(cell(page, 'php:8.4-cli').locator('.stderr')).toHaveText('to stderr');
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
  expect(problems).toEqual([]);
});

test('a version that finishes early is shown while a slower one still runs', async ({ page }) => {
  await openPage(page);
  await pickVersions(page, ['php:7.4-cli', 'php:8.2-cli']);
  await runWithKeyboard(page, '<?php\nif (PHP_MAJOR_VERSION >= 8) { sleep(4); }\necho "finished on ", PHP_MAJOR_VERSION;\n');

  await expect(cell(page, 'php:7.4-cli').locator('.stdout')).toHaveText('finished on 7');
  await expect(cell(page, 'php:8.2-cli')).toHaveAttribute('data-status', 'running');
  await expect(cell(page, 'php:8.2-cli').locator('.spinner')).toBeVisible();
  await expect(page.locator('.run-summary')).toContainText('1 of 2 done');

  await expect(cell(page, 'php:8.2-cli').locator('.stdout')).toHaveText('finished on 8');
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
});

test('fatal errors show their exit code and message', async ({ page }) => {
  await openPage(page);
  await pickVersions(page, ['php:8.5-cli']);
  await runWithKeyboard(page, '<?php\nundefined_function();\n');
  await expect(cell(page, 'php:8.5-cli')).toHaveAttribute('data-status', 'exit');
  await expect(cell(page, 'php:8.5-cli').locator('.badge')).toHaveText('exit 255');
  await expect(cell(page, 'php:8.5-cli').locator('.stdout')).toContainText('Call to undefined function');
});


test('running with no version picked explains what is missing', async ({ page }) => {
  await openPage(page);
  await page.getByRole('button', { name: 'none' }).click();
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.getByRole('alert')).toContainText('pick at least one PHP version');
  await expect(page.locator('.result-cell')).toHaveCount(0);
});

test('code over the size limit is refused with the reason shown', async ({ page }) => {
  await openPage(page);
  await pickVersions(page, ['php:8.4-cli']);
  await setCode(page, '<?php // ' + 'x'.repeat(70 * 1024));
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.getByRole('alert')).toContainText('the limit is 65536 bytes');
});
