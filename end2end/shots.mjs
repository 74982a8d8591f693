// Takes the README screenshots from a server on :3000 (`./scripts/run.sh`): node end2end/shots.mjs, then copy /tmp/shots/*.png to docs/.
import { chromium } from '@playwright/test';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto('http://127.0.0.1:3000/');
await page.locator('main[data-hydrated="true"]').waitFor();
// A first run warms the server up (its pool refills after it), as a user's earlier runs would.
await page.locator('.cm-content').fill('<?php echo "warm-up";');
await page.locator('.cm-content').press('Control+Enter');
await page.locator('.run-summary', { hasText: '4 of 4 done' }).waitFor();
await page.waitForTimeout(2000);
const code = `<?php
$words = str_repeat("evalgrid ", 400000);
$counts = array_count_values(explode(" ", trim($words)));
echo "PHP ", PHP_VERSION, ": ", count($counts), " distinct\\n";
var_dump(0 == "a");
`;
await page.locator('.cm-content').fill(code);
await page.locator('.cm-content').press('Control+Enter');
await page.locator('.run-summary', { hasText: '4 of 4 done' }).waitFor();
await page.screenshot({ path: '/tmp/shots/grid.png', fullPage: true });
await page.getByRole('button', { name: 'Performance' }).click();
await page.screenshot({ path: '/tmp/shots/performance.png', fullPage: true });
const url = page.url();
const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const other = await fresh.newPage();
await other.goto(url);
await other.locator('main[data-hydrated="true"]').waitFor();
await other.screenshot({ path: '/tmp/shots/permalink.png', fullPage: true });
// The same permalink in the dark theme diffed against 7.4, and at phone width.
const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
const darkPage = await dark.newPage();
await darkPage.goto(`${url.split("?")[0]}?base=7.4`);
await darkPage.locator('.cm-content').waitFor();
await darkPage.screenshot({ path: '/tmp/shots/dark.png', fullPage: true });
const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
const phonePage = await phone.newPage();
await phonePage.goto(url.split("?")[0]);
await phonePage.locator('.cm-content').waitFor();
await phonePage.screenshot({ path: '/tmp/shots/phone.png' });
console.log(url);
await browser.close();
