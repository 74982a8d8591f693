import { test, expect, Page } from '@playwright/test';
import { openPage, runOn, unique } from './fixtures';

// A saved run's outputs downloaded as tests: the PHPUnit test beside the permalink, and a
// .phpt file per output in the grouped view.

const download = async (page: Page, link: ReturnType<Page['locator']>) => {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const stream = await file.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { name: file.suggestedFilename(), text: Buffer.concat(chunks).toString('utf8') };
};

test('a saved run downloads as a PHPUnit test and each output as a .phpt file', async ({ page }) => {
  const marker = unique();
  const code = `<?php\n// ${marker}\necho function_exists('str_contains') ? "new\\n" : "old\\n";\n`;
  const problems = await openPage(page);
  await expect(page.locator('.export-links')).toHaveCount(0);
  await runOn(page, ['php:7.4-cli', 'php:8.2-cli', 'php:8.5-cli'], code);
  const id = new URL(page.url()).pathname.split('/').pop();

  const phpunit = await download(page, page.getByRole('link', { name: 'PHPUnit' }));
  expect(phpunit.name).toBe(`EvalgridSnippet${id}Test.php`);
  expect(phpunit.text).toContain(`final class EvalgridSnippet${id}Test extends TestCase`);
  expect(phpunit.text).toContain(marker);
  expect(phpunit.text).toMatch(/'PHP 7\.4\.\d+' => \[/);
  expect(phpunit.text).toMatch(/'PHP 8\.2\.\d+ – 8\.5\.\d+' => \[/);

  await page.getByRole('button', { name: 'Grouped' }).click();
  const groups = page.locator('.result-group');
  await expect(groups).toHaveCount(2);
  const newer = groups.filter({ hasText: 'new' });
  const older = groups.filter({ hasText: 'old' });
  await page.screenshot({ path: 'test-results/export.png', fullPage: true });

  const newest = await download(page, newer.getByRole('link', { name: 'Export as .phpt' }));
  expect(newest.name).toMatch(new RegExp(`^evalgrid-${id}-php-8\\.5\\.\\d+\\.phpt$`));
  expect(newest.text).toMatch(/^--TEST--\n/);
  expect(newest.text).toContain("version_compare(PHP_VERSION, '8.2.0-dev', '>=')");
  expect(newest.text).toMatch(/--EXPECT--\nnew\n$/);
  const oldest = await download(page, older.getByRole('link', { name: 'Export as .phpt' }));
  expect(oldest.text).toContain("version_compare(PHP_VERSION, '7.5.0-dev', '<')");
  expect(oldest.text).toMatch(/--EXPECT--\nold\n$/);
  // The link beside the permalink is the newest output's.
  expect((await download(page, page.getByRole('link', { name: '.phpt' , exact: true }))).text).toBe(newest.text);
  expect(problems).toEqual([]);
});

test('a syntax check is no test: nothing offers to export it', async ({ page }) => {
  await openPage(page);
  await page.locator('.show-choice select').selectOption({ label: 'Syntax check' });
  await runOn(page, ['php:8.4-cli'], `<?php // ${unique()}\necho 1;`);
  await expect(page.locator('.permalink')).toBeVisible();
  await expect(page.locator('.export-links')).toHaveCount(0);
});
