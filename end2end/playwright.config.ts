import { defineConfig } from '@playwright/test';

// The release server, built by `cargo leptos build --release` (scripts/test.sh does it), on a
// port of its own; Debian's chromium, never a downloaded browser.
const port = Number(process.env.EVALGRID_E2E_PORT ?? 3210);
export const baseURL = `http://127.0.0.1:${port}`;

// Every test is the one client 127.0.0.1: the per-client rates are for many people, not for
// one suite of tests two browsers at a time.
const unthrottled = '--runs-per-minute 600 --page-views-per-minute 1200 --snippets-per-hour 1000';

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  // Two spec files at a time: a browser test mostly waits on a page or a run. waiting.spec.ts
  // fills the shared server on purpose, so it runs alone, after the others.
  workers: 2,
  projects: [
    { name: 'shared', testIgnore: /waiting\.spec\.ts/ },
    { name: 'alone', testMatch: /waiting\.spec\.ts/, dependencies: ['shared'] },
  ],
  retries: 0,
  // A test.only left in a spec would silently skip every other test.
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    // A fresh database each time, so no test sees results cached by an earlier run.
    command: `rm -f target/e2e.sqlite3* && exec ./target/release/server --addr 127.0.0.1:${port} --database target/e2e.sqlite3 --instance-id e2e-${port} --max-containers 8 ${unthrottled}`,
    cwd: '..',
    url: `${baseURL}/api/health`,
    reuseExistingServer: !process.env.CI,
    // SIGTERM lets the server remove its pooled containers before it exits.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LEPTOS_OUTPUT_NAME: 'evalgrid',
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      RUST_LOG: 'info',
    },
  },
});
