import { test, expect, Browser, Page, APIRequestContext } from '@playwright/test';
import { editor, expectCode, setCode, unique } from './fixtures';

// Stored XSS on permalinks (SECURITY.md, "Stored XSS on /s/{id}"): code and output that try to
// break out of the server-rendered HTML must show as text and run nothing, with and without
// JavaScript, and the page must keep working under its Content-Security-Policy.

// Each payload marks the document when it runs, so a run leaves a trace the test can find.
const mark = (name: string) => `document.documentElement.setAttribute('data-pwned-${name}','1')`;
const markDq = (name: string) => `document.documentElement.setAttribute("data-pwned-${name}","1")`;
const markBt = (name: string) => 'document.documentElement.setAttribute(`data-pwned-' + name + '`,1)';


type Payload = { name: string; code: string; stdout?: string; stderr?: string };

const payloads: Payload[] = [
  {
    // The report of issue 9, verbatim.
    name: 'textarea',
    code:
      `<?php\n// </textarea><img src=x onerror="document.body.setAttribute('data-pwned','1')">` +
      `<script>document.documentElement.setAttribute('data-pwned2','1')</script><textarea>\n`,
  },
  {
    name: 'textarea, other case and spacing',
    code: `<?php\n// </TEXTAREA ><svg onload="${mark('svg')}"></svg></textArea\t>\n`,
  },
  { name: 'title', code: `<?php\n// </title><script>${mark('title')}</script><title>\n` },
  { name: 'script', code: `<?php\n// </script><script>${mark('script')}</script><script>\n` },
  {
    name: 'double-quoted attribute',
    code: `<?php\n// "><img src=x onerror="${mark('attr-dq')}"><p x="\n`,
  },
  {
    name: 'single-quoted attribute',
    code: `<?php\n// ' onmouseover='${markDq('attr-sq')}' autofocus onfocus='${markDq('attr-sq2')}' x='\n`,
  },
  {
    name: 'comments and entities',
    // Entities must come back as typed, not decoded; a leading newline must survive (the HTML
    // parser drops one newline right after <textarea>).
    code: `\n<?php /* <!-- --> <![CDATA[ ]]> */ echo "&lt;b&gt; &amp; &#60;script&#62; ${unique()}";\n`,
  },
  {
    name: 'output',
    code:
      `<?php\necho '<img src=x onerror=${markBt('stdout')}></pre><script>${markBt('stdout2')}</script>';\n` +
      `fwrite(STDERR, '</pre><svg onload="${markBt('stderr')}"></svg>');\n`,
    stdout: `<img src=x onerror=${markBt('stdout')}></pre><script>${markBt('stdout2')}</script>`,
    stderr: `</pre><svg onload="${markBt('stderr')}"></svg>`,
  },
];

async function save(request: APIRequestContext, code: string): Promise<string> {
  const response = await request.post('/api/run', {
    data: { code, images: ['php:8.4-cli'], save: true },
  });
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.results[0].status).toBe('ok');
  return body.id as string;
}

// Every element or attribute a payload could have injected, as a list of what was found.
async function traces(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const element of Array.from(document.querySelectorAll('*'))) {
      for (const attribute of Array.from(element.attributes)) {
        if (attribute.name.startsWith('data-pwned')) found.push(`${element.tagName} ${attribute.name}`);
        if (attribute.name.startsWith('on')) found.push(`${element.tagName} ${attribute.name}`);
      }
    }
    for (const element of Array.from(document.querySelectorAll('img, svg, iframe, object, embed'))) {
      found.push(`element ${element.outerHTML.slice(0, 80)}`);
    }
    for (const script of Array.from(document.querySelectorAll('script:not([nonce])'))) {
      found.push(`script without nonce ${script.outerHTML.slice(0, 80)}`);
    }
    return found;
  });
}

async function openFresh(browser: Browser, path: string, javaScriptEnabled = true) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const problems: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const response = await page.goto(path);
  expect(response?.status()).toBe(200);
  if (javaScriptEnabled) {
    await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  }
  // Failed image loads (src=x) fire their onerror once the 404 is in.
  await page.waitForLoadState('networkidle');
  return { context, page, dialogs, problems };
}

for (const payload of payloads) {
  test(`a permalink holding a ${payload.name} payload shows it as text and runs nothing`, async ({ browser, request }) => {
    const id = await save(request, payload.code);

    const { context, page, dialogs, problems } = await openFresh(browser, `/s/${id}`);
    await expectCode(page, payload.code);
    if (payload.stdout !== undefined) {
      await expect(page.locator('.result-cell .stdout')).toHaveJSProperty('textContent', payload.stdout);
      await expect(page.locator('.result-cell .stderr')).toHaveJSProperty('textContent', payload.stderr!);
      // The other views render the same output on the client.
      await page.getByRole('button', { name: 'Grouped' }).click();
      await expect(page.locator('.result-group .stdout')).toHaveJSProperty('textContent', payload.stdout);
    }
    expect(await traces(page)).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    if (payload.name === 'textarea') {
      await page.screenshot({ path: test.info().outputPath('xss-permalink.png'), fullPage: true });
    }
    await context.close();

    // Without JavaScript the server's HTML is all there is: the code must read the same.
    const plain = await openFresh(browser, `/s/${id}`, false);
    await expect(plain.page.locator('.code-editor')).toHaveValue(payload.code);
    if (payload.stdout !== undefined) {
      await expect(plain.page.locator('.result-cell .stdout')).toHaveJSProperty('textContent', payload.stdout);
    }
    expect(await traces(plain.page)).toEqual([]);
    await plain.context.close();
  });
}

// What the page's `securitypolicyviolation` listener (added by an init script) saw.
async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? []);
}

test('every page carries a CSP with a fresh nonce, and works under it', async ({ page }) => {
  const problems: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { violations: string[] }).violations ??= [];
      (window as unknown as { violations: string[] }).violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  const response = await page.goto('/');
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toMatch(/script-src [^;]*'nonce-[A-Za-z0-9_-]{16,}'/);
  expect(policy).toContain("object-src 'none'");
  expect(policy).toContain("frame-ancestors 'none'");
  expect(response?.headers()['x-content-type-options']).toBe('nosniff');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();

  // A run streams its results through fetch: connect-src must allow it.
  await page.getByRole('button', { name: 'none' }).click();
  await page.locator('.version input[value="php:8.4-cli"]').check();
  await setCode(page, `<?php echo "under the policy ${unique()}";`);
  await editor(page).press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  await expect(page.locator('.result-cell .stdout')).toContainText('under the policy');
  // The performance view sizes its bars on the client: no inline style may be refused.
  await page.getByRole('button', { name: 'Performance' }).click();
  await expect(page.locator('table.performance .bar')).toHaveCount(3);
  expect(await violations(page)).toEqual([]);
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+\?view=performance$/);

  // The permalink page, loaded from the server, hydrates under its own nonce.
  const again = await page.goto(new URL(page.url()).pathname);
  expect(again?.headers()['content-security-policy']).not.toBe(policy);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(page.locator('.result-cell .stdout')).toContainText('under the policy');

  expect(await violations(page)).toEqual([]);
  expect(problems).toEqual([]);
});
