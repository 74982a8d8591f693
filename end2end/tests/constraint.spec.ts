import { test, expect, Page } from '@playwright/test';
import { listImages, openPage } from './fixtures';

// The picker's Composer constraint: typed (or a composer.json pasted), it ticks exactly the
// versions that satisfy it, as Composer reads it.

const field = (page: Page) => page.getByRole('textbox', { name: 'Composer constraint' });
const verdict = (page: Page) => page.locator('.picker-constraint-verdict');
const ticked = async (page: Page) =>
  (await page.locator('.version-picker .version input:checked').evaluateAll((inputs) =>
    inputs.map((i) => (i as HTMLInputElement).value),
  )).sort();

test('a Composer constraint ticks exactly the versions that satisfy it, as it is typed', async ({ page, request }) => {
  const images = await listImages(request);
  // What the constraints below allow, by branch: every image the server offers is counted.
  const where = (keep: (major: number, minor: number) => boolean) =>
    images
      .filter((i) => {
        const [major, minor] = i.php_version.split('.').map(Number);
        return keep(major, minor);
      })
      .map((i) => i.image)
      .sort();
  const problems = await openPage(page);

  await field(page).fill('^7.4 || ^8.4');
  const caret = where((major, minor) => (major === 7 && minor >= 4) || (major === 8 && minor >= 4));
  expect(await ticked(page)).toEqual(caret);
  expect(caret).toEqual(expect.arrayContaining(['php:7.4-cli', 'php:8.4-cli', 'php:8.5-cli']));
  expect(caret).not.toContain('php:8.2-cli');
  await expect(verdict(page)).toHaveText(`${caret.length} of ${images.length} versions satisfy it`);
  await expect(page).toHaveURL(/\?v=/);
  await page.screenshot({ path: 'test-results/constraint.png' });

  // A project's composer.json, pasted: its require.php counts.
  const composerJson = { name: 'acme/app', require: { php: '>=8.2 <8.5', 'monolog/monolog': '^3' } };
  await field(page).fill(JSON.stringify(composerJson, null, 2));
  const range = where((major, minor) => major === 8 && minor >= 2 && minor < 5);
  expect(range).toEqual(expect.arrayContaining(['php:8.2-cli', 'php:8.4-cli']));
  expect(await ticked(page)).toEqual(range);

  // What Composer would refuse is said, and ticks nothing.
  await field(page).fill('~>8.2');
  await expect(verdict(page)).toContainText('"~>" is not Composer');
  await expect(verdict(page)).toHaveClass(/refused/);
  expect(await ticked(page)).toEqual(range);

  await field(page).fill('~8.2.0');
  expect(await ticked(page)).toEqual(where((major, minor) => major === 8 && minor === 2));
  await field(page).fill('^9');
  expect(await ticked(page)).toEqual([]);
  await expect(verdict(page)).toHaveText(`0 of ${images.length} versions satisfy it`);
  expect(problems).toEqual([]);
});
