import { test, expect, Page } from '@playwright/test';
import { Image, listImages, openPage, runWithKeyboard } from './fixtures';

async function openAndRunOnAll(page: Page, code: string): Promise<Image[]> {
  const images = await listImages(page.request);
  await openPage(page);
  await page.getByRole('button', { name: 'all' }).click();
  await runWithKeyboard(page, code);
  return images;
}

const version = (images: Image[], minor: string) =>
  images.find((i) => i.image === `php:${minor}-cli`)!.php_version;

test('the grouped view merges identical output into version ranges, newest first', async ({ page }) => {
  const images = await openAndRunOnAll(page, '<?php var_dump(0 == "a");');
  await expect(page.locator('.run-summary')).toContainText('4 of 4 done');

  await page.getByRole('button', { name: 'Grouped' }).click();
  const groups = page.locator('.result-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0).locator('h3')).toHaveText(`Output for ${version(images, '8.2')} – ${version(images, '8.5')}`);
  await expect(groups.nth(0).locator('.stdout')).toHaveText('bool(false)\n');
  await expect(groups.nth(1).locator('h3')).toHaveText(`Output for ${version(images, '7.4')}`);
  await expect(groups.nth(1).locator('.stdout')).toHaveText('bool(true)\n');

  // Switching back keeps the results.
  await page.getByRole('button', { name: 'Grid' }).click();
  await expect(page.locator('.result-cell[data-status="ok"]')).toHaveCount(4);
});

test('the grouped view fills in live while versions are still running', async ({ page }) => {
  const images = await openAndRunOnAll(page, '<?php if (PHP_MAJOR_VERSION >= 8) sleep(3); echo "same";');
  await page.getByRole('button', { name: 'Grouped' }).click();
  await expect(page.locator('.result-group h3')).toHaveText([`Output for ${version(images, '7.4')}`]);
  await expect(page.locator('.pending-note')).toHaveText('3 still running');
  await expect(page.locator('.result-group h3')).toHaveText([`Output for ${version(images, '7.4')} – ${version(images, '8.5')}`]);
  await expect(page.locator('.pending-note')).toHaveCount(0);
});

test('picking a base shows every other version as a diff against it', async ({ page }) => {
  const images = await openAndRunOnAll(page, '<?php echo "same\\n"; var_dump(0 == "a");');
  await expect(page.locator('.run-summary')).toContainText('4 of 4 done');
  await page.getByLabel('Diff against').selectOption('7.4');

  const newer = page.locator('.result-cell[data-image="php:8.4-cli"]');
  await expect(newer.locator('.diff-same')).toContainText('same');
  await expect(newer.locator('.diff-removed')).toContainText('bool(true)');
  await expect(newer.locator('.diff-added')).toContainText('bool(false)');
  await expect(newer.locator('.diff-added mark')).toHaveText('false');
  // The base itself shows its plain output.
  await expect(page.locator('.result-cell[data-image="php:7.4-cli"] .stdout')).toHaveText('same\nbool(true)\n');

  await page.getByLabel('Diff against').selectOption('8.2');
  await expect(newer.locator('.identical')).toHaveText(`Identical to PHP ${version(images, '8.2')}`);
});

test('the grouped view counts each version\'s own version string as the same output and says where it changes', async ({ page }) => {
  const images = await openAndRunOnAll(page, '<?php echo PHP_VERSION, PHP_MAJOR_VERSION >= 8 ? " new" : " old";');
  await expect(page.locator('.run-summary')).toContainText('4 of 4 done');
  await page.getByRole('button', { name: 'Grouped' }).click();
  const groups = page.locator('.result-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0).locator('h3')).toHaveText(`Output for ${version(images, '8.2')} – ${version(images, '8.5')}`);
  await expect(groups.nth(0).locator('.version-note')).toContainText('Each version prints its own version number');
  await expect(groups.nth(1).locator('.version-note')).toHaveCount(0);
  await expect(page.locator('.changes-note')).toHaveText(`Output changes in ${version(images, '8.2')}.`);
});
