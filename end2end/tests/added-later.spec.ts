import { test, expect } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { baseURL } from '../playwright.config';
import { cell, openPage, unique } from './fixtures';

// Saved snippets meet new versions: a permalink saved on PHP 7.4 and 8.4 gets 8.5 by itself
// once 8.5 appears on the server, marked "added later"; and a result whose output changed
// between two runs on one image is marked unstable and kept out of the grouped ranges.
//
// The first test has a server of its own that offers a test repository: the local PHP images
// tagged under it (8.5 only once the snippet is saved), untagged at the end.

const REPOSITORY = 'evalgrid-e2e-later/php';
const port = Number(new URL(baseURL).port) + 2;
const laterURL = `http://127.0.0.1:${port}`;
const DATABASE = 'target/e2e-later.sqlite3';

let server: ChildProcess | undefined;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const tag = (version: string) => {
  docker('tag', `php:${version}-cli`, `${REPOSITORY}:${version}-cli`);
  return `${REPOSITORY}:${version}-cli`;
};
const untagAll = () => {
  const tags = docker('images', '--format', '{{.Repository}}:{{.Tag}}', REPOSITORY).split('\n').filter(Boolean);
  if (tags.length) docker('rmi', ...tags);
};

async function offered(): Promise<string[]> {
  try {
    return (await (await fetch(`${laterURL}/api/images`)).json()).map((i: { image: string }) => i.image);
  } catch {
    return [];
  }
}

test.afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(`../${DATABASE}`, { force: true });
  untagAll();
});

test('a permalink saved before PHP 8.5 appeared gets its 8.5 result by itself, marked added later', async ({ page }) => {
  test.setTimeout(120_000);
  untagAll();
  const [php74, php84] = [tag('7.4'), tag('8.4')];
  rmSync(`../${DATABASE}`, { force: true });
  server = spawn(
    './target/release/server',
    ['--addr', `127.0.0.1:${port}`, '--database', DATABASE, '--instance-id', `e2e-later-${port}`,
     '--repositories', REPOSITORY, '--pool-size', '0', '--max-containers', '4', '--backfill-per-minute', '60'],
    {
      cwd: '..',
      stdio: 'ignore',
      env: { ...process.env, LEPTOS_OUTPUT_NAME: 'evalgrid', LEPTOS_SITE_ROOT: 'target/site', LEPTOS_SITE_PKG_DIR: 'pkg', RUST_LOG: 'warn' },
    },
  );
  await expect.poll(offered, { timeout: 60_000 }).toEqual([php74, php84]);
  // A moment for the server to take this first list as what it always had.
  await page.waitForTimeout(1500);
  const code = `<?php\n// ${unique()}\nvar_dump(str_contains("evalgrid", "grid"));\necho "PHP ", PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION, "\\n";\n`;
  const saved = await (await fetch(`${laterURL}/api/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, images: [php74, php84], save: true }),
  })).json();

  const php85 = tag('8.5');
  await expect
    .poll(async () => (await (await fetch(`${laterURL}/api/snippets/${saved.id}`)).json()).results.length, { timeout: 60_000 })
    .toBe(3);

  const problems = await openPage(page, `${laterURL}/s/${saved.id}`);
  await expect(page.locator('.result-cell')).toHaveCount(3);
  await expect(page.locator('.version input:checked')).toHaveCount(3);
  const later = cell(page, php85).locator('.badge-added-later');
  await expect(later).toHaveText('added later');
  await expect(later).toHaveAttribute('title', /after this snippet was saved, when this PHP version appeared/);
  await expect(cell(page, php85).locator('.stdout')).toContainText('PHP 8.5');
  await expect(cell(page, php84).locator('.badge-added-later')).toHaveCount(0);
  // For docs/page.md (docs/added-later.png).
  await page.screenshot({ path: 'test-results/added-later.png', fullPage: true });

  // Grouped: 8.4 and 8.5 print the same but their minor version, which keeps them apart; the
  // group with 8.5 is marked.
  await page.getByRole('button', { name: 'Grouped' }).click();
  const group85 = page.locator('.result-group', { hasText: 'PHP 8.5' });
  await expect(group85.locator('.badge-added-later')).toBeVisible();
  expect(problems).toEqual([]);
});

test('a result that changed between two runs on one image is marked unstable and grouped with nothing', async ({ page, request }) => {
  // 8.4 prints "early" until `until`, then "same" like every other version: two runs on either
  // side of it differ on 8.4 alone, and would otherwise make one group of all three.
  const until = Math.floor(Date.now() / 1000) + 3;
  const code = `<?php\n// ${unique()}\necho PHP_VERSION_ID >= 80400 && PHP_VERSION_ID < 80500 && time() < ${until} ? "early" : "same", "\\n";\n`;
  const images = ['php:7.4-cli', 'php:8.4-cli', 'php:8.5-cli'];
  const body = (force: boolean) => ({ data: { code, images, save: true, force, clock: 'real' } });
  const first = await (await request.post('/api/run', body(false))).json();
  expect(first.results.map((r: { stdout: string }) => r.stdout)).toEqual(['same\n', 'early\n', 'same\n']);
  await expect.poll(() => Date.now() / 1000, { timeout: 10_000 }).toBeGreaterThan(until + 0.5);
  const again = await (await request.post('/api/run', body(true))).json();
  expect(again.results.map((r: { unstable?: boolean }) => r.unstable ?? false)).toEqual([false, true, false]);

  const problems = await openPage(page, `/s/${first.id}?view=grouped`);
  const groups = page.locator('.result-group');
  await expect(groups.locator('h3')).toHaveText([/^Output for \S+, \S+$/, /^Output for 8\.4\.\d+$/]);
  const unstable = groups.nth(1).locator('.badge-unstable');
  await expect(unstable).toHaveText('unstable');
  await expect(unstable).toHaveAttribute('title', /gave different output.*not grouped/);
  await page.getByRole('button', { name: 'Grid' }).click();
  await expect(cell(page, 'php:8.4-cli').locator('.badge-unstable')).toBeVisible();
  await expect(cell(page, 'php:8.5-cli').locator('.badge-unstable')).toHaveCount(0);
  expect(problems).toEqual([]);
});
