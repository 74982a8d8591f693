import { test, expect } from '@playwright/test';
import { cell, openPage, pickVersions, runWithKeyboard, unique } from './fixtures';

const FOUR = ['php:7.4-cli', 'php:8.2-cli', 'php:8.4-cli', 'php:8.5-cli'];

test('on a saturated server the cells say the run waits for a free slot, then fill in', async ({ page, request }) => {
  const problems = await openPage(page);
  const health = async () => (await (await request.get('/api/health')).json()) as { containers: number };
  const capacity = 8; // --max-containers in playwright.config.ts
  // Background runs that take every slot for a few seconds (sent, not awaited).
  const background = [0, 1].map(() =>
    request.post('/api/run', {
      data: { code: `<?php sleep(4); // ${unique()}`, images: FOUR, force: true },
      timeout: 60_000,
    }),
  );
  await expect.poll(async () => (await health()).containers, { timeout: 20_000 }).toBe(capacity);

  await pickVersions(page, ['php:8.4-cli']);
  await runWithKeyboard(page, `<?php echo 'after the wait'; // ${unique()}`);
  const waiting = cell(page, 'php:8.4-cli');
  await expect(waiting).toHaveAttribute('data-status', 'waiting');
  await expect(waiting.locator('.waiting-note')).toHaveText(/^waiting for a free slot — (next|\d+ ahead)$/);
  await page.screenshot({ path: 'test-results/waiting.png' });

  await expect(waiting.locator('.stdout')).toHaveText('after the wait', { timeout: 30_000 });
  await expect(waiting).toHaveAttribute('data-status', 'ok');
  await expect(waiting.locator('.waiting-note')).toHaveCount(0);
  for (const response of await Promise.all(background)) expect(response.status()).toBe(200);
  expect(problems).toEqual([]);
});
