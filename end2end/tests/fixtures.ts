import { expect, Page, APIRequestContext } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

// The helpers every spec shares, so that each test reads like what a user does.

/** An image as `GET /api/images` lists it. */
export type Image = { image: string; php_version: string; variant: string; extensions: string[] };

/** Opens `path`, waits for hydration and returns the list that collects console errors and
 * uncaught exceptions from then on (hydration mismatches show up there). */
export async function openPage(page: Page, path = '/'): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(path);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  return problems;
}

/** Ticks exactly these versions. */
export async function pickVersions(page: Page, images: string[]) {
  await page.getByRole('button', { name: 'none' }).click();
  for (const image of images) {
    await page.locator(`.version input[value="${image}"]`).check();
  }
}

/** The code editor's editable area (CodeMirror's), there once the page has hydrated. */
export const editor = (page: Page) => page.locator('.cm-content');

/** The textarea the server renders: the editor without JavaScript; hidden, it mirrors the code
 * once CodeMirror has taken over. */
export const plainEditor = (page: Page) => page.locator('textarea.code-editor');

/** The code as the editor shows it, line by line. */
export async function editorCode(page: Page): Promise<string> {
  return editor(page).evaluate((content) =>
    Array.from(content.querySelectorAll('.cm-line'), (line) => line.textContent ?? '').join('\n'),
  );
}

/** Waits until the editor shows exactly `code` and the page holds it. */
export async function expectCode(page: Page, code: string) {
  await expect.poll(() => editorCode(page)).toBe(code);
  await expect(plainEditor(page)).toHaveValue(code);
}

/** Replaces the editor's code with `code`, as pasting over everything would. */
export async function setCode(page: Page, code: string) {
  await editor(page).fill(code);
  await expect(plainEditor(page)).toHaveValue(code);
}

/** Types `code` into the editor and runs it with Ctrl+Enter. */
export async function runWithKeyboard(page: Page, code: string) {
  await setCode(page, code);
  await editor(page).press('Control+Enter');
}

/** Runs `code` on exactly these versions and waits until every one has finished. */
export async function runOn(page: Page, images: string[], code: string) {
  await pickVersions(page, images);
  await runWithKeyboard(page, code);
  await expect(page.locator('.run-summary')).toContainText(`${images.length} of ${images.length} done`);
  // The run is over when its stream has ended, a moment after the last result: the page saves
  // every run, and then shows its permalink in the address bar.
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+/);
}

/** The result cell of one version. */
export const cell = (page: Page, image: string) => page.locator(`.result-cell[data-image="${image}"]`);

/** Text no earlier run used, so that nothing comes from the result cache. */
export const unique = () => `${Date.now()}-${Math.random().toString(36).slice(2)}`;

/** The images the server offers. */
export async function listImages(request: APIRequestContext): Promise<Image[]> {
  return (await request.get('/api/images')).json();
}

/** What axe-core finds serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
