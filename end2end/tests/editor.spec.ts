import { test, expect, Page } from '@playwright/test';
import {
  cell,
  editor,
  editorCode,
  expectCode,
  openPage,
  pickVersions,
  plainEditor,
  runOn,
  setCode,
  unique,
} from './fixtures';

// The code editor (CodeMirror, once the page has hydrated), as a user meets it.

test('PHP is highlighted, HTML outside <?php too, with line numbers', async ({ page }) => {
  const problems = await openPage(page);
  await setCode(page, '<b>hi</b>\n<?php\n$name = "world"; // greet\nfunction greet() { return 42; }\necho "hi $name";\n');
  const content = editor(page);
  await expect(content.locator('.tok-keyword', { hasText: 'function' })).toBeVisible();
  await expect(content.locator('.tok-keyword', { hasText: 'echo' })).toBeVisible();
  await expect(content.locator('.tok-variableName', { hasText: '$name' }).first()).toBeVisible();
  await expect(content.locator('.tok-string', { hasText: '"world"' })).toBeVisible();
  await expect(content.locator('.tok-comment', { hasText: '// greet' })).toBeVisible();
  await expect(content.locator('.tok-number', { hasText: '42' })).toBeVisible();
  // The tag name, outside PHP: HTML.
  await expect(content.locator('.tok-typeName', { hasText: 'b' }).first()).toBeVisible();
  // The stylesheet colours the tokens: a keyword is not in the text colour.
  const colour = (selector: string) =>
    content.locator(selector).first().evaluate((element) => getComputedStyle(element).color);
  expect(await colour('.tok-keyword')).not.toBe(await colour('.cm-line'));

  await expect(page.locator('.cm-lineNumbers .cm-gutterElement:visible')).toHaveText(['1', '2', '3', '4', '5', '6']);
  // The textarea is gone from view; it only mirrors the code.
  await expect(plainEditor(page)).toBeHidden();
  expect(problems).toEqual([]);
});

test('Ctrl+Enter runs the code from inside the editor', async ({ page }) => {
  const problems = await openPage(page);
  await pickVersions(page, ['php:8.4-cli']);
  const marker = unique();
  await setCode(page, `<?php\necho "from the editor ${marker}";\n`);
  await editor(page).press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText(`from the editor ${marker}`);
  expect(problems).toEqual([]);
});

test('Tab indents, Escape then Tab leaves the editor', async ({ page }) => {
  await openPage(page);
  await setCode(page, '<?php\n');
  const content = editor(page);
  await content.press('Control+End');
  await content.press('Tab');
  await content.pressSequentially('echo 1;');
  await expectCode(page, '<?php\n    echo 1;');
  await expect(content).toBeFocused();

  // Keyboard users are not trapped: Escape, then Tab moves on and leaves the code alone.
  await content.press('Escape');
  await page.keyboard.press('Tab');
  await expect(content).not.toBeFocused();
  await expectCode(page, '<?php\n    echo 1;');
});

test('brackets match, Enter indents, Ctrl+Z undoes', async ({ page }) => {
  await openPage(page);
  await setCode(page, '<?php\nif (true) {}');
  const content = editor(page);
  await content.press('Control+End');
  await content.press('ArrowLeft');
  await expect(content.locator('.cm-matchingBracket')).toHaveCount(2);
  // Undo history groups edits less than 500 ms apart: the Enter is one of its own.
  await page.waitForTimeout(600);
  await content.press('Enter');
  await expectCode(page, '<?php\nif (true) {\n    \n}');
  await content.press('Control+z');
  await expectCode(page, '<?php\nif (true) {}');
});

test('Ctrl+F opens the search panel and finds the matches', async ({ page }) => {
  await openPage(page);
  await setCode(page, '<?php\n$needle = 1;\necho $needle + $needle;\n');
  await editor(page).press('Control+f');
  const search = page.locator('.cm-search');
  await expect(search).toBeVisible();
  await search.locator('input[name="search"]').pressSequentially('needle');
  await expect(editor(page).locator('.cm-searchMatch')).toHaveCount(3);
});

test('a permalink opens with its code in the editor, and the home page with the example', async ({ page, request }) => {
  const code = `<?php\n// ${unique()}\necho "kept";\n`;
  const saved = await request.post('/api/run', { data: { code, images: ['php:8.4-cli'], save: true } });
  const { id } = await saved.json();
  const problems = await openPage(page, `/s/${id}`);
  await expectCode(page, code);

  // Leaving for the home page (no reload): a new editor with the example, the old one gone.
  await page.getByRole('link', { name: 'evalgrid' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect.poll(() => editorCode(page)).toContain('var_dump(0 == "a");');
  await expect(page.locator('.cm-editor')).toHaveCount(1);
  expect(problems).toEqual([]);
});

test('without JavaScript the textarea holds the code', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await expect(plainEditor(page)).toBeVisible();
  await expect(plainEditor(page)).toHaveValue(/var_dump\(0 == "a"\);/);
  await expect(page.locator('.cm-editor')).toHaveCount(0);
  await context.close();
});

test('when the editor cannot load, the textarea stays: Tab indents, Ctrl+Enter runs', async ({ page }) => {
  await page.route('**/editor/editor.js', (route) => route.abort());
  const problems = await openPage(page);
  await pickVersions(page, ['php:8.4-cli']);
  const textarea = plainEditor(page);
  await expect(textarea).toBeVisible();
  await textarea.fill('<?php\n');
  await textarea.press('Control+End');
  await textarea.press('Tab');
  await textarea.pressSequentially('echo "plain";');
  await expect(textarea).toHaveValue('<?php\n    echo "plain";');
  await expect(textarea).toBeFocused();
  await textarea.press('Control+Enter');
  await expect(cell(page, 'php:8.4-cli').locator('.stdout')).toHaveText('plain');
  await expect(page.locator('.cm-editor')).toHaveCount(0);
  await expect(vimKeys(page)).toHaveCount(0);
  expect(problems.filter((p) => p.includes('the code editor did not load'))).toHaveLength(1);
});

/** The vim-keys checkbox. */
const vimKeys = (page: Page) => page.getByRole('checkbox', { name: 'Vim keys' });

test('vim keys are a setting that is remembered', async ({ page }) => {
  const problems = await openPage(page);
  await setCode(page, 'abc\n');
  await expect(vimKeys(page)).not.toBeChecked();
  await vimKeys(page).check();
  // The vim code is fetched when turned on: keys typed before it is there are plain text.
  await expect(page.locator('.cm-fat-cursor, .cm-vimMode').first()).toBeAttached();
  // Normal mode: x deletes the character under the cursor.
  await editor(page).click();
  await page.keyboard.press('Escape');
  await page.keyboard.type('gg0x');
  await expectCode(page, 'bc\n');

  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(vimKeys(page)).toBeChecked();
  await expect(page.locator('.cm-fat-cursor, .cm-vimMode').first()).toBeAttached();
  // Ctrl+Enter runs from vim's normal mode too.
  await pickVersions(page, ['php:8.4-cli']);
  await editor(page).click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.run-summary')).toContainText('1 of 1 done');

  await vimKeys(page).uncheck();
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(editor(page)).toBeVisible();
  await expect(vimKeys(page)).not.toBeChecked();
  await setCode(page, 'abc\n');
  await editor(page).press('Control+Home');
  await page.keyboard.type('x');
  await expectCode(page, 'xabc\n');
  expect(problems).toEqual([]);
});

test('"on line 3" in an output moves the cursor to line 3 and marks it', async ({ page }) => {
  const problems = await openPage(page);
  await runOn(page, ['php:8.4-cli'], `<?php\n// ${unique()}\necho $undefined;\necho "after";\n`);
  const link = cell(page, 'php:8.4-cli').locator('.stdout button.line-link', { hasText: 'on line 3' });
  await expect(link).toBeVisible();
  // The gutter marks the line, saying which versions name it.
  const mark = page.locator('.cm-line-marks .cm-line-mark');
  await expect(mark).toHaveCount(1);
  await expect(mark).toHaveAttribute('title', /^Line 3, named by PHP 8\.4/);

  await link.click();
  await expect(editor(page)).toBeFocused();
  await expect(page.locator('.cm-lineNumbers .cm-activeLineGutter')).toHaveText('3');
  await expect(page.locator('.cm-line.cm-jumped-line')).toHaveText('echo $undefined;');
  // Typing goes to line 3.
  await page.keyboard.type('$undefined = 1; ');
  await expect.poll(() => editorCode(page)).toContain('\n$undefined = 1; echo $undefined;\n');
  expect(problems).toEqual([]);

  // The permalink, rendered on the server, hydrates with its links and marks.
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+$/);
  const fresh = await page.context().browser()!.newContext();
  const other = await fresh.newPage();
  const otherProblems = await openPage(other, new URL(page.url()).pathname);
  await expect(other.locator('.cm-line-marks .cm-line-mark')).toHaveAttribute('title', /^Line 3, named by PHP 8\.4/);
  await other.locator('button.line-link', { hasText: 'on line 3' }).click();
  await expect(other.locator('.cm-lineNumbers .cm-activeLineGutter')).toHaveText('3');
  expect(otherProblems).toEqual([]);
  await fresh.close();
});

test("the editor's own styles load under the Content-Security-Policy", async ({ page }) => {
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { violations: string[] }).violations ??= [];
      (window as unknown as { violations: string[] }).violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const problems = await openPage(page);
  await expect(editor(page)).toBeVisible();
  // CodeMirror's base theme (a <style> with the nonce) lays the gutters out beside the code.
  await expect(page.locator('.cm-gutters')).toHaveCSS('display', 'flex');
  await page.locator('.cm-content').press('Control+f');
  await expect(page.locator('.cm-search')).toBeVisible();
  // Typing over a selection of highlighted code: Chrome would keep the old colours in a style
  // attribute, which the policy refuses.
  await editor(page).press('Control+a');
  await editor(page).pressSequentially('<?php echo 1;');
  await expectCode(page, '<?php echo 1;');
  await setCode(page, '<?php\necho "pasted over";\n');
  const violations = await page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? []);
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
});
