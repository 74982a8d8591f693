import { test, expect } from '@playwright/test';
import { openPage, runOn, seriousViolations, unique } from './fixtures';

// axe-core on the playground and a permalink (each result tab), in both themes: no serious or
// critical violation.

for (const theme of ['light', 'dark'] as const) {
  test(`axe finds nothing serious on the playground and a permalink, ${theme} theme`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme: theme });
    const page = await context.newPage();
    await openPage(page);
    expect(await seriousViolations(page)).toEqual([]);

    // Output on stdout and stderr, a diff and the performance bars.
    await runOn(
      page,
      ['php:7.4-cli', 'php:8.4-cli'],
      `<?php\n// ${unique()}\nvar_dump(0 == "a");\nfwrite(STDERR, "on stderr");\n`,
    );
    const permalink = new URL(page.url()).pathname;
    await openPage(page, `${permalink}?base=7.4`);
    expect(await seriousViolations(page)).toEqual([]);
    for (const tab of ['Grouped', 'Performance']) {
      await page.getByRole('button', { name: tab }).click();
      expect(await seriousViolations(page), tab).toEqual([]);
    }
    await context.close();
  });
}
