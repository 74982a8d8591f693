import { test, expect, Page } from '@playwright/test';
import { openPage } from './fixtures';

// The theme switch: Auto (the system's), Light, Dark; remembered, applied before the first paint.

const LIGHT_BG = 'rgb(246, 247, 249)';
const DARK_BG = 'rgb(15, 18, 24)';

const background = (page: Page) =>
  page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const theme = (page: Page) => page.evaluate(() => document.documentElement.dataset.theme ?? null);

test('Auto follows the system; Dark and Light override it and are remembered across a reload', async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: 'dark' });
  const page = await context.newPage();
  const problems = await openPage(page);
  const themes = page.getByRole('group', { name: 'Theme' });
  await expect(themes.getByRole('button', { name: 'Auto' })).toHaveAttribute('aria-pressed', 'true');
  expect(await theme(page)).toBeNull();
  expect(await background(page)).toBe(DARK_BG);

  await themes.getByRole('button', { name: 'Light' }).click();
  expect(await theme(page)).toBe('light');
  await expect.poll(() => background(page)).toBe(LIGHT_BG);
  // The editor follows: its background is the page's panel colour.
  await expect
    .poll(() => page.locator('.cm-editor').evaluate((e) => getComputedStyle(e).backgroundColor))
    .toBe('rgb(255, 255, 255)');

  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  expect(await theme(page)).toBe('light');
  await expect(themes.getByRole('button', { name: 'Light' })).toHaveAttribute('aria-pressed', 'true');

  await themes.getByRole('button', { name: 'Auto' }).click();
  expect(await theme(page)).toBeNull();
  await expect.poll(() => background(page)).toBe(DARK_BG);
  await page.reload();
  expect(await theme(page)).toBeNull();
  expect(problems).toEqual([]);
  await context.close();
});

test('a remembered dark theme is there before the first paint: no light flash', async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: 'light' });
  const page = await context.newPage();
  await openPage(page);
  await page.getByRole('group', { name: 'Theme' }).getByRole('button', { name: 'Dark' }).click();
  expect(await page.evaluate(() => localStorage.getItem('evalgrid.theme'))).toBe('dark');

  // What the page looks like the moment its HTML is parsed (before any module script or the
  // WASM ran): recorded by a listener installed before the page's own scripts.
  await page.addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      const html = document.documentElement;
      (window as any).atParse = {
        theme: html.dataset.theme ?? null,
        background: getComputedStyle(html).backgroundColor,
      };
    });
  });
  await page.reload();
  expect(await page.evaluate(() => (window as any).atParse)).toEqual({ theme: 'dark', background: DARK_BG });
  await context.close();
});

test('the inline theme script carries the page\'s nonce and runs under its CSP', async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: 'light' });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await openPage(page);
  await page.evaluate(() => localStorage.setItem('evalgrid.theme', 'dark'));
  // A fresh page load, no init script: only the page's own inline script can set this.
  await page.reload();
  expect(await theme(page)).toBe('dark');
  expect(await background(page)).toBe(DARK_BG);
  expect(violations).toEqual([]);
  await context.close();
});
