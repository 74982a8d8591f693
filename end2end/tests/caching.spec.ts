import { test, expect } from '@playwright/test';
import { editor, openPage } from './fixtures';

// Static files: kept for good when their name is a hash of their content, asked for again
// (a cheap 304) when it is not.

test('content-hashed static files are immutable, the others are revalidated', async ({ page, request }) => {
  await openPage(page);
  await expect(editor(page)).toBeVisible();
  const fetched = await page.evaluate(() =>
    performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname),
  );
  const chunk = fetched.find((path) => /^\/editor\/chunk-[A-Z0-9]{8}\.js$/.test(path));
  expect(chunk).toBeTruthy();
  const cacheControl = async (path: string) => (await request.get(path)).headers()['cache-control'];
  expect(await cacheControl(chunk!)).toBe('public, max-age=31536000, immutable');
  for (const path of ['/editor/editor.js', '/pkg/evalgrid.wasm', '/pkg/evalgrid.js', '/pkg/evalgrid.css']) {
    expect(await cacheControl(path), path).toBe('no-cache');
  }
  // The page itself is no static file.
  expect(await cacheControl('/')).toBeUndefined();
});
