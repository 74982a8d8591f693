import { test, expect, Page } from '@playwright/test';
import { openPage, pickVersions, runWithKeyboard, seriousViolations, unique } from './fixtures';

// The ini matrix: the same code under a few sets of ini settings at once, each variant ×
// version a cell of its own, grouped and diffed within its variant.

const versions = ['php:8.2-cli', 'php:8.4-cli', 'php:8.5-cli'];
const jit = 'opcache.enable_cli=1\nopcache.jit=tracing\nopcache.jit_buffer_size=16M';
const code = (mark: string) =>
  `<?php // ${mark}\n$status = function_exists('opcache_get_status') ? opcache_get_status() : false;\n` +
  `echo 'JIT ', ($status['jit']['on'] ?? false) ? 'on' : 'off', "\\n";\n` +
  `echo 'sum ', array_sum(range(1, 1000)), "\\n";\n`;

/** The results of one variant, named by its settings ("a=1, b=2") or "default ini settings". */
const variant = (page: Page, name: string) => page.getByRole('region', { name, exact: true });
const cellIn = (section: ReturnType<typeof variant>, image: string) => section.locator(`.result-cell[data-image="${image}"]`);

/** The settings as the page writes them back: sorted by name, a line each. */
const keyed = (settings: string) => settings.split('\n').sort().map((line) => `${line}\n`).join('');
/** The settings as the page names a variant. */
const named = (settings: string) => settings.split('\n').sort().join(', ');

async function fillVariants(page: Page, texts: string[]) {
  await page.locator('.ini-box summary').click();
  for (const [index, text] of texts.entries()) {
    if (index > 0) await page.getByRole('button', { name: 'Add a variant' }).click();
    await page.getByLabel(`Variant ${index + 1}`, { exact: true }).fill(text);
  }
}

test('two ini variants × three versions give six cells, the JIT on in one variant and off in the other', async ({ page }) => {
  const problems = await openPage(page);
  await fillVariants(page, [jit, '']);
  await expect(page.locator('.ini-box summary')).toContainText('(2 variants)');
  await pickVersions(page, versions);
  await runWithKeyboard(page, code(unique()));
  await expect(page.locator('.run-summary')).toContainText('6 of 6 done');
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+/);

  const withJit = variant(page, named(jit));
  const defaults = variant(page, 'default ini settings');
  await expect(page.locator('section.ini-variant')).toHaveCount(2);
  await expect(withJit.locator('.variant-heading')).toContainText('opcache.jit=tracing');
  await expect(defaults.locator('.variant-heading')).toHaveText('Default ini settings');
  await expect(page.locator('.result-cell')).toHaveCount(6);
  for (const image of versions) {
    await expect(cellIn(withJit, image).locator('.stdout')).toHaveText('JIT on\nsum 500500');
    await expect(cellIn(defaults, image).locator('.stdout')).toHaveText('JIT off\nsum 500500');
  }
  await page.screenshot({ path: 'test-results/ini-matrix.png', fullPage: true });

  // Grouped within each variant: every version agrees with the others under the same settings.
  await page.getByRole('button', { name: 'Grouped' }).click();
  await expect(withJit.locator('.result-group')).toHaveCount(1);
  await expect(defaults.locator('.result-group')).toHaveCount(1);
  await expect(withJit.locator('.result-group')).toContainText('JIT on');

  // The permalink brings back the variants and every cell.
  const permalink = new URL(page.url()).pathname;
  await openPage(page, permalink);
  await expect(page.locator('.ini-box')).toHaveAttribute('open', '');
  await expect(page.getByLabel('Variant 1', { exact: true })).toHaveValue(keyed(jit));
  await expect(page.getByLabel('Variant 2', { exact: true })).toHaveValue('');
  await expect(page.locator('.result-cell')).toHaveCount(6);
  await expect(cellIn(variant(page, named(jit)), 'php:8.5-cli').locator('.stdout')).toContainText('JIT on');
  expect(await seriousViolations(page)).toEqual([]);

  // So does its embed, grouped per variant.
  await page.goto(`/e/${permalink.split('/').pop()}`);
  await expect(page.locator('section.ini-variant')).toHaveCount(2);
  await expect(variant(page, named(jit)).locator('.result-group')).toContainText('JIT on');
  await expect(variant(page, 'default ini settings').locator('.result-group')).toContainText('JIT off');
  expect(problems).toEqual([]);
});

test('a variant that does not read stops the run before it starts and says where', async ({ page }) => {
  await openPage(page);
  await fillVariants(page, ['precision=17', 'zend.assertions']);
  await pickVersions(page, ['php:8.4-cli']);
  await runWithKeyboard(page, `<?php // ${unique()}\necho 0.1 + 0.2;`);
  await expect(page.getByRole('alert')).toHaveText('ini variant 2, line 1: "zend.assertions" is not name=value');
  await expect(page.locator('.result-cell')).toHaveCount(0);

  // A setting the server refuses comes back as its message.
  await page.getByLabel('Variant 2', { exact: true }).fill('ffi.enable=1');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('ini variant 2: ini setting "ffi.enable" cannot be changed here');

  // Removing the variant leaves one: every version under precision=17.
  await page.getByRole('button', { name: 'Remove variant 2' }).click();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  await expect(variant(page, 'precision=17').locator('.result-cell .stdout')).toHaveText('0.30000000000000004');
});

test('the production preset runs every version under php.ini-production beside evalgrid\'s baseline', async ({ page }) => {
  const problems = await openPage(page);
  await page.locator('.ini-box summary').click();
  await page.getByRole('button', { name: 'Add production settings' }).click();
  await expect(page.locator('.ini-box summary')).toContainText('(2 variants)');
  await expect(page.getByLabel('Variant 2', { exact: true })).toHaveValue(/zend\.assertions=-1\n/);
  const images = ['php:7.4-cli', 'php:8.5-cli'];
  await pickVersions(page, images);
  await runWithKeyboard(
    page,
    `<?php // ${unique()}\necho ini_get('short_open_tag') ? 'short tags' : 'no short tags', ', assertions ', ini_get('zend.assertions');\n`,
  );
  await expect(page.locator('.run-summary')).toContainText('4 of 4 done');
  const production = page.locator('section.ini-variant').nth(1);
  await expect(production.locator('.variant-heading')).toContainText('zend.assertions=-1');
  for (const image of images) {
    // The same on every image, whatever its own php.ini (Debian's is the production one).
    await expect(cellIn(variant(page, 'default ini settings'), image).locator('.stdout')).toHaveText('short tags, assertions 1');
    await expect(production.locator(`.result-cell[data-image="${image}"] .stdout`)).toHaveText('no short tags, assertions -1');
  }
  await page.screenshot({ path: 'test-results/ini-production.png', fullPage: true });
  expect(problems).toEqual([]);
});
