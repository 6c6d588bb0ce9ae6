import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test, type StudioPage } from './fixtures/studio';

// Accessibility: axe-core (the installed Chromium, WCAG 2.x A/AA rules) finds no serious or
// critical violation in any panel, before and after a run; the model-source tabs follow the ARIA
// tabs pattern from the keyboard; training is announced once per epoch, not once per step.
test.setTimeout(300_000);

/** Every panel of the studio, by its test id. */
const PANELS = ['data.panel', 'model.panel', 'template.panel', 'train.panel', 'runs.list', 'sweep.panel', 'results.panel', 'playground', 'export.panel'] as const;

/** axe's serious and critical violations inside `testId`, one line each ("rule: target … (panel)"). */
async function seriousViolations(page: Page, testId: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).include(`[data-testid="${testId}"]`).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) in ${testId}: ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ').trim()}`));
}

/** Checks each panel in turn and says every violation found at once. */
async function expectNoSeriousViolations(studio: StudioPage, testIds: readonly string[]): Promise<void> {
  const found: string[] = [];
  for (const id of testIds) {
    await expect(studio.byId(id)).toBeVisible();
    found.push(...(await seriousViolations(studio.page, id)));
  }
  expect(found).toEqual([]);
}

/** The sentiment sample on the embedded BERT, set for a 2-epoch run of 2 × 8 steps. */
async function prepareSample(studio: StudioPage): Promise<void> {
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await studio.byId('train.advanced').click();
  await studio.setTraining({ promptLength: 4, batchSize: 32, epochs: 2, valFraction: 0.2, seed: 1, patience: 0 });
}

test('no serious or critical axe violations in any panel, before and after a run', async ({ studio }) => {
  await studio.setup('?backend=wasm');
  // Before anything is loaded: the panels' empty states, and each model-source tab.
  await expectNoSeriousViolations(studio, ['data.panel', 'template.panel', 'train.panel', 'sweep.panel']);
  for (const tab of ['embedded', 'hub', 'local'] as const) {
    await studio.byId(`model.tab.${tab}`).click();
    await expectNoSeriousViolations(studio, ['model.panel']);
  }
  await studio.byId('model.tab.embedded').click();

  await prepareSample(studio);
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  await expectNoSeriousViolations(studio, PANELS);
  // The whole page too (header, status line, notes between the panels).
  const whole = await new AxeBuilder({ page: studio.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(whole.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  expect(studio.errors).toEqual([]);
});

test('the model-source tabs follow the ARIA tabs pattern from the keyboard', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  const tabs = page.getByRole('tablist', { name: 'Where the model comes from' }).getByRole('tab');
  await expect(tabs).toHaveText(['Embedded', 'Hugging Face Hub', 'Local files']);
  /** The selected tab has focus, is the only one in the tab order, and its panel is shown. */
  const expectSelected = async (name: string, panelTestId: string) => {
    const tab = page.getByRole('tab', { name });
    await expect(tab).toBeFocused();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByRole('tab', { selected: true })).toHaveCount(1);
    for (const other of await tabs.all()) await expect(other).toHaveAttribute('tabindex', (await other.textContent()) === name ? '0' : '-1');
    await expect(studio.byId(panelTestId)).toBeVisible();
  };

  // Tab from the element before the tab list lands on the selected tab only.
  await studio.byId('data.sample.load').focus();
  let guard = 0;
  while (!(await page.getByRole('tab', { name: 'Embedded' }).evaluate((el) => el === document.activeElement)) && guard++ < 20) await page.keyboard.press('Tab');
  await expectSelected('Embedded', 'model.select');
  await page.keyboard.press('ArrowRight');
  await expectSelected('Hugging Face Hub', 'hub.id');
  await page.keyboard.press('ArrowRight');
  await expectSelected('Local files', 'local.drop');
  await page.keyboard.press('ArrowRight'); // wraps around
  await expectSelected('Embedded', 'model.select');
  await page.keyboard.press('ArrowLeft'); // and back
  await expectSelected('Local files', 'local.drop');
  await page.keyboard.press('Home');
  await expectSelected('Embedded', 'model.select');
  await page.keyboard.press('End');
  await expectSelected('Local files', 'local.drop');
  // Tab leaves the tab list for the panel: the other tabs are not in the tab order.
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).not.toBe('tab');
  await page.keyboard.press('Shift+Tab');
  await expectSelected('Local files', 'local.drop');
});

test('a run is announced once per epoch and once at its end, not once per step', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  await prepareSample(studio);
  // Every change of every live region (aria-live, status, alert, log) during the run, in order.
  await page.evaluate(() => {
    const changes: { region: string; text: string }[] = [];
    (window as unknown as { __liveChanges: typeof changes }).__liveChanges = changes;
    const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
    new MutationObserver((records) => {
      const regions = new Set<Element>();
      for (const r of records) {
        const node = r.target instanceof Element ? r.target : r.target.parentElement;
        const region = node?.closest(live);
        if (region) regions.add(region);
      }
      for (const region of regions) {
        const text = region.textContent ?? '';
        const id = region.getAttribute('data-testid') ?? region.tagName;
        const last = changes.filter((c) => c.region === id).pop();
        if (last?.text !== text) changes.push({ region: id, text });
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  // 240 training rows in batches of 32: 8 steps per epoch, 16 in all; each changed the step line.
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '16');
  await expect(studio.byId('train.status')).not.toHaveAttribute('aria-live');

  const changes = await page.evaluate(() => (window as unknown as { __liveChanges: { region: string; text: string }[] }).__liveChanges);
  const announced = changes.filter((c) => c.region === 'train.announce').map((c) => c.text);
  expect(announced).toHaveLength(3);
  expect(announced[0]).toMatch(/^Epoch 1 of 2 done: training loss \d+\.\d{3}, validation loss \d+\.\d{3}, validation accuracy \d+\.\d%\.$/);
  expect(announced[1]).toMatch(/^Epoch 2 of 2 done: /);
  expect(announced[2]).toMatch(/^Training completed: sentiment\.csv · studio-bert-tiny/);
  // No live region changed once per step (16 steps; a region may change a few times per phase).
  const perRegion = new Map<string, number>();
  for (const c of changes) perRegion.set(c.region, (perRegion.get(c.region) ?? 0) + 1);
  for (const [region, count] of perRegion) expect(count, `${region} changed ${count} times`).toBeLessThan(8);
});
