import { test, expect } from '@playwright/test';
import { cell, openPage, runOn, unique } from './fixtures';

// What the script gets besides its code: text on STDIN, and a clock fixed at the first save.

const versions = ['php:7.4-cli', 'php:8.5-cli'];

test('text typed into the stdin box reaches the script on every version and comes back with the permalink', async ({ page }) => {
  await openPage(page);
  await page.locator('.stdin-box summary').click();
  const stdin = page.getByLabel('Text the script reads from STDIN');
  await stdin.fill(`hello ${unique()}\nsecond line`);
  const typed = await stdin.inputValue();
  await runOn(page, versions, '<?php echo strrev(trim(fgets(STDIN))), "|", fgets(STDIN);');
  const expected = `${typed.split('\n')[0].split('').reverse().join('')}|second line`;
  for (const image of versions) {
    await expect(cell(page, image).locator('.stdout')).toHaveText(expected);
  }
  await expect(page.locator('.stdin-box summary')).toContainText(`(${typed.length} bytes)`);

  // The permalink opens with the same stdin, shown open.
  await openPage(page, new URL(page.url()).pathname);
  await expect(page.locator('.stdin-box')).toHaveAttribute('open', '');
  await expect(page.getByLabel('Text the script reads from STDIN')).toHaveValue(typed);
});

test('a saved run shows the same fixed time on every version, on the permalink and after a re-run', async ({ page }) => {
  await openPage(page);
  const fixedClock = page.getByLabel(/Fixed clock/);
  await expect(fixedClock).toBeChecked();
  await runOn(page, versions, `<?php // ${unique()}\necho date('Y-m-d H:i:s'), ' ', time();`);
  const printed = await cell(page, versions[0]).locator('.stdout').textContent();
  expect(printed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+$/);
  await expect(cell(page, versions[1]).locator('.stdout')).toHaveText(printed!);

  // The permalink names the time its clock starts at, and a run without the cache prints it again.
  await openPage(page, new URL(page.url()).pathname);
  await expect(page.getByLabel(/Fixed clock/)).toBeChecked();
  await expect(page.locator('.clock-choice')).toContainText(`from ${printed!.split(' ').slice(0, 2).join(' ')} UTC`);
  await page.waitForTimeout(1100);
  // Run (the stored results come back from the cache), then run every version again.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
  await page.getByRole('button', { name: 'Re-run without cache' }).click();
  await expect(page.locator('.run-summary')).toContainText('2 of 2 done');
  for (const image of versions) {
    await expect(cell(page, image).locator('.stdout')).toHaveText(printed!);
    await expect(cell(page, image).locator('.badge-cached')).toHaveCount(0);
  }
  await page.screenshot({ path: 'test-results/script-inputs.png', fullPage: true });

  // Unticked: the real time, and another permalink.
  const permalink = page.url();
  await page.getByLabel(/Fixed clock/).uncheck();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page).not.toHaveURL(permalink);
  await expect(page).toHaveURL(/\/s\/[0-9a-z]+/);
});

test('opcodes: each version shows its compiled script, and a diff shows what changed between 7.4 and 8.5', async ({ page }) => {
  await openPage(page);
  await page.locator('.show-choice select').selectOption('opcodes');
  await runOn(page, versions, `<?php // ${unique()}\nfunction twice(int $n): int { return $n * 2; }\necho twice(21);\n`);
  for (const image of versions) {
    await expect(cell(page, image).locator('.stdout')).toContainText('(after optimizer)');
    await expect(cell(page, image).locator('.stdout')).toContainText('twice:');
    // Compiled, not run: no 42.
    await expect(cell(page, image).locator('.stdout')).not.toContainText('42');
  }
  await page.getByLabel('Diff against').selectOption('7.4');
  const newer = cell(page, 'php:8.5-cli');
  await expect(newer.locator('.diff-removed').first()).toBeVisible();
  await expect(newer.locator('.diff-added').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/opcodes.png', fullPage: true });

  // The permalink shows opcodes again.
  await openPage(page, new URL(page.url()).pathname);
  await expect(page.locator('.show-choice select')).toHaveValue('opcodes');
});

test('a syntax check: each version\'s parser judges the code, nothing runs, and the failing line is marked', async ({ page }) => {
  await openPage(page);
  await page.locator('.show-choice select').selectOption({ label: 'Syntax check' });
  // Property hooks parse from PHP 8.4 on.
  await runOn(page, versions, `<?php // ${unique()}\nclass Point {\n    public int $x { get => 42; }\n}\necho "ran";\n`);
  const old = cell(page, 'php:7.4-cli');
  await expect(old).toHaveAttribute('data-status', 'exit');
  await expect(old.locator('.badge')).toHaveText('exit 255');
  await expect(old.locator('.stdout')).toContainText('Parse error');
  await expect(old.locator('.stdout')).toContainText('on line 3');
  const recent = cell(page, 'php:8.5-cli');
  await expect(recent).toHaveAttribute('data-status', 'ok');
  await expect(recent.locator('.stdout')).toContainText('No syntax errors detected');
  await expect(recent.locator('.stdout')).not.toContainText('ran');
  // The line 7.4 cannot parse is marked in the editor, as a run's errors are.
  await expect(page.locator('.cm-line-mark')).toHaveCount(1);
  await page.screenshot({ path: 'test-results/lint.png', fullPage: true });

  // The permalink checks the syntax again.
  await openPage(page, new URL(page.url()).pathname);
  await expect(page.locator('.show-choice select')).toHaveValue('lint');
});
