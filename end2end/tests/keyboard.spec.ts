import { test, expect, Page } from '@playwright/test';
import { openPage, unique } from './fixtures';

// The page with the keyboard alone, as someone who uses no mouse would, and what a screen
// reader is told as results arrive (the one polite live region).

/** What has the focus: a short description for failure messages and checks. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const value = (element as HTMLInputElement).value;
    return [
      element.tagName.toLowerCase(),
      element.className,
      element.getAttribute('aria-label') ?? '',
      element.tagName === 'INPUT' ? value : (element.textContent ?? '').trim().slice(0, 30),
    ].join('|');
  });

/** Presses `key` (Tab or Shift+Tab) until `wanted` says yes, at most `limit` times; fails when
 * it never does, naming where the focus went. In the editor Tab indents: Escape first, as the
 * page tells keyboard users. */
async function tabUntil(page: Page, key: string, wanted: (focus: string) => boolean, limit = 40) {
  const visited: string[] = [];
  for (let press = 0; press < limit; press++) {
    if ((await focused(page)).startsWith('div|cm-content')) await page.keyboard.press('Escape');
    await page.keyboard.press(key);
    const focus = await focused(page);
    visited.push(focus);
    if (wanted(focus)) return;
  }
  throw new Error(`never reached; the focus went: ${visited.join(' → ')}`);
}

test('keyboard alone: tick a version, write code, run it, leave the editor, reach and use the copy button', async ({ browser }) => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const problems = await openPage(page);
  const marker = unique();

  // From the top of the page to the picker: untick everything, tick 8.4 with Space.
  await tabUntil(page, 'Tab', (focus) => focus.startsWith('button|link|') && focus.endsWith('|none'));
  await page.keyboard.press('Enter');
  await expect(page.locator('.version input:checked')).toHaveCount(0);
  await tabUntil(page, 'Tab', (focus) => focus.endsWith('|php:8.4-cli'));
  await page.keyboard.press('Space');
  await expect(page.locator('.version input:checked')).toHaveCount(1);
  await expect(page.locator('.version input[value="php:8.4-cli"]')).toBeChecked();

  // Back into the editor; type, run with Ctrl+Enter.
  await tabUntil(page, 'Shift+Tab', (focus) => focus.startsWith('div|cm-content'));
  await page.keyboard.press('Control+a');
  await page.keyboard.type(`<?php echo "typed ${marker}";`);
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  await expect(page.locator('.result-cell .stdout')).toHaveText(`typed ${marker}`);

  // The live region said so.
  const announcements = page.locator('.run-announcements');
  await expect(announcements).toHaveAttribute('aria-live', 'polite');
  await expect(announcements.locator('p')).toHaveText([/^PHP 8\.4\.\d+ finished: ok$/, /^Run over: 1 version in /]);
  // CodeMirror's own region (.cm-announced) speaks for the editor's search panel only.
  await expect(page.locator('[aria-live]:not(.cm-announced)')).toHaveCount(1);

  // Escape, then Tab leaves the editor; onwards to the result's copy button, and Enter copies.
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  await expect(page.locator('.cm-content')).not.toBeFocused();
  await tabUntil(page, 'Tab', (focus) => focus.startsWith('button|copy-output|Copy stdout'));
  await expect(page.locator('.result-cell .copy-output').first()).toBeFocused();
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(`typed ${marker}`);
  expect(problems).toEqual([]);
  await context.close();
});

test('the live region reads out each version as it finishes, and starts over with a new run', async ({ page }) => {
  const problems = await openPage(page);
  await page.getByRole('button', { name: 'none' }).click();
  await page.locator('.version input[value="php:7.4-cli"]').check();
  await page.locator('.version input[value="php:8.4-cli"]').check();
  // 7.4 fails to parse the 8.0 syntax and exits 255; 8.4 sleeps a little, so it comes second.
  await page.locator('.cm-content').fill(`<?php // ${unique()}\nif (PHP_MAJOR_VERSION > 7) usleep(300000);\necho $x?->y ?? "ok";\n`);
  await page.locator('.cm-content').press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
  const lines = page.locator('.run-announcements p');
  await expect(lines).toHaveText([
    /^PHP 7\.4\.\d+ finished: exit 255$/,
    /^PHP 8\.4\.\d+ finished: ok$/,
    /^Run over: 2 versions in \d/,
  ]);

  await page.locator('.cm-content').press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
  // The same code again: from the cache, said anew.
  await expect(lines).toHaveCount(3);
  await expect(lines.first()).toContainText('(cached)');
  expect(problems).toEqual([]);
});
