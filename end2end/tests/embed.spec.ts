import { test, expect, Browser, Frame, Page } from '@playwright/test';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { openPage, runOn, unique } from './fixtures';

// The embed, /e/{id}: a saved snippet in someone else's page. A small HTTP server on another
// loopback port (another origin) plays the blog post: its page frames the embed and, to show
// that nothing else may be framed, the same snippet's permalink /s/{id}.

const LIGHT_BG = 'rgb(246, 247, 249)';
const DARK_BG = 'rgb(15, 18, 24)';
const VERSIONS = ['php:7.4-cli', 'php:8.2-cli', 'php:8.4-cli', 'php:8.5-cli'];

let id = '';
let site: http.Server;
let siteURL = '';
/** The other site's pages, by path. */
const pages = new Map<string, string>();

test.beforeAll(async ({ browser }) => {
  id = await saveSnippet(browser);
  site = http.createServer((request, response) => {
    const page = pages.get(new URL(request.url ?? '/', 'http://site').pathname);
    response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page ?? 'not found');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteURL = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  site?.closeAllConnections();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
});

/** Runs a snippet whose output differs between PHP 7 and 8 on every version, from the page as a
 * user would, and returns its permalink id. */
async function saveSnippet(browser: Browser): Promise<string> {
  const page = await browser.newPage();
  await openPage(page);
  const code =
    `<?php\n// ${unique()}\n` +
    `var_dump(0 == "a");\nvar_dump("1" == "01");\nvar_dump("abc" == 0);\n`;
  await runOn(page, VERSIONS, code);
  const saved = new URL(page.url()).pathname.replace('/s/', '');
  await page.close();
  return saved;
}

/** Puts a page on the other site: a blog post's text around `frames` (id, caption, app path). */
function blogPost(path: string, frames: [string, string, string][], baseURL: string): string {
  const figures = frames
    .map(
      ([frameId, caption, src]) =>
        `<figure><figcaption>${caption} <code>${src}</code></figcaption>` +
        `<iframe id="${frameId}" title="${caption}" src="${baseURL}${src}"></iframe></figure>`,
    )
    .join('\n');
  pages.set(
    path,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A post with an evalgrid embed</title>
<style>
  body { max-width: 1180px; margin: 28px auto; padding: 0 24px; font: 16px/1.55 Georgia, serif; color: #1f2328; background: #fff; }
  h1 { font-size: 26px; margin: 0 0 6px; }
  .frames { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
  figure { margin: 0; }
  figcaption { margin-bottom: 6px; font: 13px system-ui, sans-serif; color: #57606a; }
  iframe { width: 100%; height: 450px; border: 1px solid #d0d7de; border-radius: 8px; }
  iframe#permalink { height: 200px; }
</style></head><body>
<h1>Loose comparisons, before and after PHP 8</h1>
<p>PHP 8 changed how a number compares to a string that is not numeric. Here is the same snippet on four versions, embedded from evalgrid (a page on ${siteURL}):</p>
<div class="frames">${figures}</div>
</body></html>`,
  );
  return `${siteURL}${path}`;
}

/** The frame an `<iframe id=…>` of the page shows. */
async function frameOf(page: Page, frameId: string): Promise<Frame> {
  const frame = await (await page.locator(`iframe#${frameId}`).elementHandle())?.contentFrame();
  if (!frame) throw new Error(`no frame in iframe#${frameId}`);
  return frame;
}

const background = (frame: Frame) => frame.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const theme = (frame: Frame) => frame.evaluate(() => document.documentElement.dataset.theme ?? null);

test('another site frames the embed: code, grouped results, a link out; the permalink refuses to be framed', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const refusals: string[] = [];
  page.on('console', (message) => {
    if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
  });
  const post = blogPost(
    '/post',
    [
      ['embed', 'The embed,', `/e/${id}`],
      ['embed-dark', 'The embed in the dark theme,', `/e/${id}?theme=dark`],
      ['permalink', 'The permalink, which refuses to be framed,', `/s/${id}`],
    ],
    baseURL!,
  );
  await page.goto(post);

  const embed = page.frameLocator('iframe#embed');
  await expect(embed.locator('.embed-code')).toContainText('var_dump(0 == "a");');
  await expect(embed.locator('.embed-code')).toContainText('var_dump("abc" == 0);');
  // Grouped as the permalink's grouped view: PHP 8's three versions in one group, 7.4 alone.
  const groups = embed.locator('.result-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0).locator('h3')).toContainText(/Output for 8\.2\.\d+ – 8\.5\.\d+/);
  await expect(groups.nth(0).locator('.stdout')).toHaveText('bool(false)\nbool(true)\nbool(false)\n');
  await expect(groups.nth(1).locator('h3')).toContainText(/Output for 7\.4\.\d+/);
  await expect(groups.nth(1).locator('.stdout')).toHaveText('bool(true)\nbool(true)\nbool(true)\n');
  await expect(embed.locator('.changes-note')).toContainText('Output changes in 8.2');
  await expect(page.frameLocator('iframe#embed-dark').locator('.result-group')).toHaveCount(2);
  // Read-only and light: no editor, no buttons that would need scripts.
  await expect(embed.locator('textarea, .cm-editor, button')).toHaveCount(0);
  const open = embed.getByRole('link', { name: 'Open in evalgrid' });
  await expect(open).toHaveAttribute('href', `/s/${id}`);
  await expect(open).toHaveAttribute('target', '_blank');
  await expect(open).toHaveAttribute('rel', 'noopener');

  // The permalink's frame was refused: Chromium shows its error page there, never the app.
  const permalink = await frameOf(page, 'permalink');
  await expect.poll(() => permalink.url()).toMatch(/^chrome-error:/);
  await expect(page.frameLocator('iframe#permalink').locator('main')).toHaveCount(0);
  expect(page.frames().map((f) => f.url())).not.toContain(`${baseURL}/s/${id}`);
  await expect.poll(() => refusals.join('\n')).toContain("frame-ancestors 'none'");
  // No frame fetched the WASM or the editor.
  expect(requests.filter((url) => /\.wasm$|\/editor\/|\/pkg\/evalgrid\.js/.test(url))).toEqual([]);
  await page.screenshot({ path: 'test-results/embed.png', fullPage: true });

  // The link opens the permalink, whole, in a tab of its own.
  const [tab] = await Promise.all([context.waitForEvent('page'), open.click()]);
  await expect(tab).toHaveURL(`${baseURL}/s/${id}`);
  await expect(tab.locator('main[data-hydrated="true"]')).toBeVisible();
  await context.close();
});

test('?theme=dark and ?theme=light force a theme in the frame; anything else is the system\'s', async ({ browser, baseURL }) => {
  const post = blogPost(
    '/themes',
    [
      ['system', 'No theme:', `/e/${id}`],
      ['dark', 'Forced dark:', `/e/${id}?theme=dark`],
      ['light', 'Forced light:', `/e/${id}?theme=light`],
      ['other', 'An unknown theme:', `/e/${id}?theme=purple`],
    ],
    baseURL!,
  );
  for (const scheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ colorScheme: scheme });
    const page = await context.newPage();
    await page.goto(post);
    const system = scheme === 'dark' ? DARK_BG : LIGHT_BG;
    for (const [frameId, forced, bg] of [
      ['system', null, system],
      ['dark', 'dark', DARK_BG],
      ['light', 'light', LIGHT_BG],
      ['other', null, system],
    ] as const) {
      const frame = await frameOf(page, frameId);
      await expect(frame.locator('.embed-code')).toBeVisible();
      expect(await theme(frame), `${frameId} with a ${scheme} system`).toBe(forced);
      expect(await background(frame), `${frameId} with a ${scheme} system`).toBe(bg);
    }
    await context.close();
  }
});

test('an unknown id is a 404 inside the frame', async ({ page, baseURL }) => {
  const response = await page.request.get(`${baseURL}/e/nosuchsnippet`);
  expect(response.status()).toBe(404);
  await page.goto(blogPost('/unknown', [['embed', 'A deleted snippet:', '/e/nosuchsnippet']], baseURL!));
  const embed = page.frameLocator('iframe#embed');
  await expect(embed.locator('.not-found')).toContainText('no saved snippet');
});

test('code and output that hold HTML show as text in the embed and run nothing', async ({ page }) => {
  // Backquotes: the marks sit inside PHP's single-quoted strings and HTML's double-quoted ones.
  const mark = (name: string) => 'document.documentElement.setAttribute(`data-pwned-' + name + '`,1)';
  const code =
    `<?php // ${unique()} </code></pre><img src=x onerror="${mark('code')}"><script>${mark('code2')}</script>\n` +
    `echo '</pre><svg onload="${mark('stdout')}"></svg>';\n`;
  const saved = await page.request.post('/api/run', { data: { code, images: ['php:8.4-cli'], save: true } });
  expect(saved.status()).toBe(200);
  const { id: embedded } = await saved.json();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(`/e/${embedded}`);
  await expect(page.locator('.embed-code')).toHaveText(code);
  await expect(page.locator('.result-group .stdout')).toHaveText(`</pre><svg onload="${mark('stdout')}"></svg>`);
  await expect(page.locator('img, svg, main script')).toHaveCount(0);
  const marks = await page.evaluate(() =>
    Array.from(document.documentElement.attributes, (a) => a.name).filter((n) => n.startsWith('data-pwned')),
  );
  expect(marks).toEqual([]);
  expect(dialogs).toEqual([]);
});

test('the embed shows a snippet\'s stdin, and says when its results are opcodes', async ({ page }) => {
  const stdin = `<b>${unique()}</b>\nsecond`;
  const code = '<?php echo fgets(STDIN);';
  const withStdin = await page.request.post('/api/run', { data: { code, images: ['php:8.4-cli'], save: true, stdin } });
  const { id: reads } = await withStdin.json();
  await page.goto(`/e/${reads}`);
  await expect(page.locator('.embed-stdin')).toHaveText(stdin);
  await expect(page.locator('.result-group .stdout')).toHaveText(stdin.split('\n')[0] + '\n');
  await expect(page.locator('.embed-shown')).toHaveCount(0);

  const opcodes = await page.request.post('/api/run', {
    data: { code: `<?php // ${unique()}\necho 1;`, images: ['php:8.4-cli'], save: true, show: 'opcodes' },
  });
  const { id: compiled } = await opcodes.json();
  await page.goto(`/e/${compiled}`);
  await expect(page.locator('.embed-shown')).toHaveText('Showing: Opcodes');
  await expect(page.locator('.result-group .stdout')).toContainText('(after optimizer)');
  await expect(page.locator('.embed-stdin')).toHaveCount(0);
});
