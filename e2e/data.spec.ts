import { expect, test } from './fixtures/studio';

// CSV reading in the browser: drag and drop, semicolon and tab files with quoted fields, and a
// 100,000-row file that is parsed in the worker while the page stays responsive.
test.setTimeout(300_000);

/** Drops a file on the Data panel's drop zone, as a user dragging it from the desktop would. */
async function dropFile(page: import('@playwright/test').Page, name: string, text: string) {
  const dataTransfer = await page.evaluateHandle(
    ([fileName, content]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], fileName, { type: 'text/csv' }));
      return dt;
    },
    [name, text] as const,
  );
  await page.getByTestId('data.drop').dispatchEvent('drop', { dataTransfer });
}

test('drag and drop, semicolon and tab files, quoted fields with delimiters, quotes and newlines', async ({ studio, page }) => {
  await studio.setup();
  await dropFile(page, 'semicolon.csv', 'review;stars\r\n"Good; really ""good""\r\nsecond line";5\r\nMeh;2\r\n');
  await studio.expectDataset('semicolon.csv', 2);
  await expect(studio.byId('data.summary')).toContainText('semicolon-separated');
  const firstRow = studio.byId('data.preview').locator('tbody tr').first();
  await expect(firstRow.locator('td').nth(1)).toHaveText('Good; really "good"\nsecond line', { useInnerText: false });
  // The label column is guessed from its name or position; text columns exclude it.
  await expect(studio.byId('data.labelColumn')).toHaveValue('stars');
  await expect(studio.byId('data.textColumn.review')).toBeChecked();

  await studio.uploadCsv('tabs.tsv', 'text\tlabel\na, b, c\tx\n"quoted\ttab"\ty\n');
  await studio.expectDataset('tabs.tsv', 2);
  await expect(studio.byId('data.summary')).toContainText('tab-separated');
  await expect(studio.byId('data.class.x')).toBeVisible();
  await studio.panelShot('data.panel', 'data-1-semicolon-tab');
});

test('a 100,000-row CSV is parsed off the main thread with progress; the page never freezes', async ({ studio, page }) => {
  await studio.setup();
  const lines = ['text,label'];
  for (let i = 0; i < 100_000; i++) lines.push(`"Review number ${i}, with a comma and ""quotes""",${i % 3 === 0 ? 'negative' : 'positive'}`);
  const csv = lines.join('\r\n');

  // Long tasks on the main thread while the file is read, parsed and summarised. Playwright
  // builds the File inside the page from base64 (a long task of its own, before the page gets
  // the file), so only tasks that start after the file input has the file count.
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__longTasks.push({ start: e.startTime, duration: e.duration }))).observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  await studio.uploadCsv('big.csv', csv);
  const fileSetAt = await page.evaluate(() => performance.now());
  await expect(studio.byId('data.progress')).toBeVisible();
  await studio.expectDataset('big.csv', 100_000);
  const seconds = (Date.now() - t0) / 1000;
  await expect(studio.byId('data.class.positive')).toContainText('66,666');
  await expect(studio.byId('data.class.negative')).toContainText('33,334');
  await expect(studio.byId('data.split')).toContainText('100,000 rows used: 80,000 for training, 20,000 for validation');
  const longTasks = await page.evaluate(
    (after) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((t) => t.start + t.duration > after).map((t) => t.duration),
    fileSetAt,
  );
  console.log(`100k rows (${(csv.length / 1e6).toFixed(1)} MB) loaded in ${seconds.toFixed(1)} s; main-thread long tasks (ms): ${longTasks.map(Math.round).join(', ') || 'none'}`);
  // Parsing takes seconds in the worker; the main thread is never blocked for long.
  expect(Math.max(0, ...longTasks)).toBeLessThan(500);
  await studio.panelShot('data.panel', 'data-2-100k-rows');
  expect(studio.errors).toEqual([]);
});
