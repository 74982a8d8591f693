import { test, expect } from '@playwright/test';
import { editor, openPage } from './fixtures';

// The page's weight: the JS, WASM and CSS a first visit transfers, compressed, editor included.
// docs/benchmarks.md, "Weight of the page", says what it is and why the budget is what it is.
const BUDGET_KB = 445;

test(`a first load transfers at most ${BUDGET_KB} KB of JS, WASM and CSS`, async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openPage(page);
  await expect(editor(page)).toBeVisible();
  const files = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => e as PerformanceResourceTiming)
      .filter((e) => /\.(js|wasm|css)$/.test(new URL(e.name).pathname))
      .map((e) => ({ path: new URL(e.name).pathname, bytes: e.encodedBodySize, raw: e.decodedBodySize })),
  );
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  for (const f of files) console.log(`first load: ${f.path} ${kb(f.bytes)} (${kb(f.raw)} uncompressed)`);
  console.log(`first load: JS + WASM + CSS ${kb(total)} compressed; budget ${BUDGET_KB} KB`);
  expect(files.some((f) => f.path.endsWith('.wasm'))).toBe(true);
  expect(files.some((f) => f.path.startsWith('/editor/'))).toBe(true);
  expect(total / 1024).toBeLessThanOrEqual(BUDGET_KB);
  await context.close();
});
