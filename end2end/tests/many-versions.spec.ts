import { test, expect, Page } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { baseURL } from '../playwright.config';
import { openPage, runWithKeyboard, unique } from './fixtures';

// The version picker and the result views with many versions. Sixteen image ids without a
// network: copies of the four local PHP images (a label each makes a new image id), tagged
// under a test repository, offered by a server of this spec's own that also offers that
// repository. It reaches the engine through a symlink to the engine's socket, so that the
// engine can be "down" for this server alone. Everything built is removed at the end.

const REPOSITORY = 'evalgrid-e2e/php';
const BASES = ['php:7.4-cli', 'php:8.2-cli', 'php:8.4-cli', 'php:8.5-cli'];
const COPIES = [1, 2, 3];
const port = Number(new URL(baseURL).port) + 1;
const pickerURL = `http://127.0.0.1:${port}`;
const socket = `/tmp/evalgrid-e2e-${port}-engine.sock`;
const ENGINE_SOCKET = '/var/run/docker.sock';

let server: ChildProcess | undefined;
const built: string[] = [];

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

/** `tag`: a copy of `base` with an image id of its own. */
function buildCopy(base: string, tag: string) {
  const container = docker('create', base);
  try {
    docker('commit', '--change', `LABEL evalgrid.e2e.copy=${tag}`, container, tag);
    built.push(tag);
  } finally {
    docker('rm', container);
  }
}

const copyTag = (base: string, copy: number | string) => `${REPOSITORY}:${base.split(':')[1].replace('-cli', '')}-copy${copy}`;

test.use({ baseURL: pickerURL });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  // Left over by a run that was killed before its clean-up.
  const leftovers = docker('images', '--format', '{{.Repository}}:{{.Tag}}', REPOSITORY).split('\n').filter(Boolean);
  if (leftovers.length) docker('rmi', ...leftovers);
  for (const base of BASES) for (const copy of COPIES) buildCopy(base, copyTag(base, copy));
  rmSync(socket, { force: true });
  symlinkSync(ENGINE_SOCKET, socket);
  rmSync('../target/e2e-many.sqlite3', { force: true });
  server = spawn(
    './target/release/server',
    ['--addr', `127.0.0.1:${port}`, '--database', 'target/e2e-many.sqlite3', '--instance-id', `e2e-many-${port}`,
     '--repositories', `php,${REPOSITORY}`, '--docker-host', `unix://${socket}`, '--pool-size', '0', '--max-containers', '4'],
    {
      cwd: '..',
      stdio: 'ignore',
      env: { ...process.env, LEPTOS_OUTPUT_NAME: 'evalgrid', LEPTOS_SITE_ROOT: 'target/site', LEPTOS_SITE_PKG_DIR: 'pkg', RUST_LOG: 'warn' },
    },
  );
  // Up, and every image asked its version.
  await expect
    .poll(async () => {
      try {
        const images = await (await fetch(`${pickerURL}/api/images`)).json();
        return images.length;
      } catch {
        return 0;
      }
    }, { timeout: 90_000 })
    .toBe(BASES.length * (COPIES.length + 1));
});

test.afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(socket, { force: true });
  rmSync('../target/e2e-many.sqlite3', { force: true });
  if (built.length) docker('rmi', ...built);
});

const picker = (page: Page) => page.locator('.version-picker');
const group = (page: Page, branch: string) => page.getByRole('group', { name: `PHP ${branch}`, exact: true });
const ticked = (page: Page) =>
  picker(page).locator('.version input:checked').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
const entries = (page: Page, branch: string) =>
  group(page, branch).locator('.version input').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
const preset = (page: Page, name: string) => picker(page).getByRole('button', { name, exact: true });

test('sixteen versions: grouped by branch, end of life marked, presets, ranges and the keyboard', async ({ page }) => {
  const problems = await openPage(page);
  const all = await picker(page).locator('.version input').count();
  expect(all).toBe(16);
  for (const branch of ['7.4', '8.2', '8.4', '8.5']) expect(await entries(page, branch)).toHaveLength(4);
  // 7.4 ended on 2022-11-28; 8.2 is supported until the end of 2026.
  await expect(group(page, '7.4').locator('.support-mark')).toHaveText('end of life');
  await expect(group(page, '7.4').locator('.support-mark')).toHaveAttribute('title', /no security fixes since 2022-11-28/);
  await expect(group(page, '8.2').locator('.support-mark')).toHaveText('until 2026-12');
  await expect(group(page, '8.4').locator('.support-mark.eol')).toHaveCount(0);
  // Copies of one version say what sets them apart.
  await expect(group(page, '8.4').locator('.version', { has: page.locator(`input[value="${copyTag('php:8.4-cli', 2)}"]`) }))
    .toContainText(`php:8.4-copy2 · debian 13`);

  await preset(page, 'none').click();
  expect(await ticked(page)).toEqual([]);
  await preset(page, 'latest of each minor').click();
  expect(await ticked(page)).toEqual(BASES);
  await expect(page).toHaveURL(/\?v=7\.4,8\.2,8\.4,8\.5$/);
  await preset(page, 'supported').click();
  expect(await ticked(page)).toEqual([...(await entries(page, '8.2')), ...(await entries(page, '8.4')), ...(await entries(page, '8.5'))]);
  await preset(page, 'all').click();
  expect(await ticked(page)).toHaveLength(16);
  await expect(picker(page).locator('.picker-count')).toContainText('16 of 16 ticked');

  // A shift-click ticks everything from the entry clicked before, across branches.
  await preset(page, 'none').click();
  const php82 = await entries(page, '8.2');
  const php84 = await entries(page, '8.4');
  await page.locator(`.version input[value="${php82[1]}"]`).click();
  await page.locator(`.version input[value="${php84[2]}"]`).click({ modifiers: ['Shift'] });
  expect(await ticked(page)).toEqual([...php82.slice(1), ...php84.slice(0, 3)]);
  // For docs/page.md (docs/picker.png).
  await page.screenshot({ path: 'test-results/picker.png' });
  // … and unticks the same way: the range takes the state of the box shift-clicked.
  await page.locator(`.version input[value="${php84[1]}"]`).click();
  await page.locator(`.version input[value="${php82[2]}"]`).click({ modifiers: ['Shift'] });
  expect(await ticked(page)).toEqual([php82[1], php84[2]]);
  // The branch's own checkbox: all of it, and "some" when partly ticked.
  const branch84 = group(page, '8.4').locator('.minor-toggle input');
  expect(await branch84.evaluate((input) => (input as HTMLInputElement).indeterminate)).toBe(true);
  await branch84.click();
  expect(await ticked(page)).toEqual([php82[1], ...php84]);
  await expect(branch84).toBeChecked();
  await branch84.click();
  expect(await ticked(page)).toEqual([php82[1]]);

  // Keyboard alone: Tab reaches the presets, the constraint and the checkboxes, Enter and Space
  // work them, and the focus is plain to see.
  await preset(page, 'all').focus();
  await page.keyboard.press('Tab');
  await expect(preset(page, 'none')).toBeFocused();
  await page.keyboard.press('Enter');
  expect(await ticked(page)).toEqual([]);
  await page.keyboard.press('Tab');
  await expect(picker(page).getByRole('textbox', { name: 'Composer constraint' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(group(page, '7.4').locator('.minor-toggle input')).toBeFocused();
  await page.keyboard.press('Space');
  expect(await ticked(page)).toEqual(await entries(page, '7.4'));
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  const php74 = await entries(page, '7.4');
  expect(await ticked(page)).toEqual(php74.slice(1));
  const focused = page.locator('.version:has(input:focus-visible)');
  await expect(focused).toHaveCount(1);
  expect(await focused.evaluate((label) => getComputedStyle(label).outlineStyle)).toBe('solid');
  expect(problems).toEqual([]);
});

test('a run on sixteen versions opens grouped, and the grid stays compact', async ({ page }) => {
  const problems = await openPage(page);
  await preset(page, 'all').click();
  await runWithKeyboard(page, `<?php\n// ${unique()}\nvar_dump(0 == "a");\necho "PHP ", PHP_VERSION, "\\n";\n`);
  await expect(page.locator('.run-summary')).toContainText('16 of 16 done', { timeout: 60_000 });
  // More than eight versions: the grouped view unless the address says otherwise.
  await expect(page.getByRole('button', { name: 'Grouped' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page).not.toHaveURL(/view=/);
  const groups = page.locator('.result-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.first().locator('h3')).toHaveText('Output for 8.2.32 – 8.5.7');
  await expect(groups.last().locator('h3')).toHaveText('Output for 7.4.33');
  await expect(page.locator('.changes-note')).toHaveText('Output changes in 8.2.32.');
  await expect(groups.first().locator('.version-note')).toBeVisible();
  // For docs/page.md (docs/grouped-many.png).
  await page.screenshot({ path: 'test-results/grouped-many.png', fullPage: true });

  await page.getByRole('button', { name: 'Grid' }).click();
  await expect(page).toHaveURL(/view=grid/);
  await expect(page.locator('.result-grid.compact .result-cell')).toHaveCount(16);
  // Cells side by side: at least four in the first row on a desktop-wide window.
  const tops = await page.locator('.result-cell').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().top));
  expect(tops.filter((top) => top === tops[0]).length).toBeGreaterThanOrEqual(4);
  await page.reload();
  await expect(page.locator('.result-grid.compact')).toBeVisible();
  expect(problems).toEqual([]);
});

test('new images appear without a reload, and the picker comes back with the engine', async ({ page }) => {
  test.setTimeout(120_000);
  const problems = await openPage(page);
  await preset(page, 'latest of each minor').click();
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  const late = `${REPOSITORY}:8.4-late${unique().slice(-6)}`;
  buildCopy('php:8.4-cli', late);
  // The page asks again when the window gets the focus back (and every minute).
  await expect
    .poll(async () => {
      await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      return page.locator(`.version input[value="${late}"]`).count();
    }, { timeout: 20_000, intervals: [500] })
    .toBe(1);
  expect(await ticked(page)).toEqual(BASES);

  // The engine goes away for this server: the page says so; it comes back: the picker too,
  // with the same versions ticked, and no reload at any point.
  rmSync(socket);
  await expect
    .poll(async () => {
      await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      return page.locator('.notice.error').count();
    }, { timeout: 40_000, intervals: [1000] })
    .toBe(1);
  await expect(page.locator('.notice.error')).toContainText('Cannot list the PHP versions');
  symlinkSync(ENGINE_SOCKET, socket);
  // No focus event this time: the page retries by itself while the engine is down.
  await expect(picker(page)).toBeVisible({ timeout: 20_000 });
  expect(await ticked(page)).toEqual(BASES);
  expect(await page.evaluate(() => (window as unknown as { notReloaded: boolean }).notReloaded)).toBe(true);
  expect(existsSync(socket)).toBe(true);
  // The browser logs the failed list requests while the engine was away; nothing else.
  expect(problems.filter((p) => !p.includes('status of 500'))).toEqual([]);
});
