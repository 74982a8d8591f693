import { test, expect } from '@playwright/test';
import { listImages, openPage } from './fixtures';

test('the picker says what each version is built on and which extensions it loads', async ({ page, request }) => {
  const problems = await openPage(page);
  const images = await listImages(request);
  const php84 = images.find((image) => image.image === 'php:8.4-cli');
  expect(php84?.extensions).toContain('mbstring');
  const label = page.locator('label.version', { has: page.locator('input[value="php:8.4-cli"]') });
  await expect(label).toHaveAttribute('title', /php:8\.4-cli · debian 13\n\d+ extensions: .*mbstring/);
  expect(problems).toEqual([]);
});
