import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from './fixtures/studio';
import { dirFolder, useNodeBackend } from '../src/node/model';
import { loadPretrained } from '../src/model/loader';
import { topTokens } from '../src/model/predict';

const PROBE = 'the committee said that the [MASK] was ready .';

/** The same checkpoint and text in Node on the cpu backend: what every browser backend must reproduce. */
async function expectedInNode() {
  await useNodeBackend('cpu');
  const loaded = await loadPretrained(await dirFolder(join('public', 'models', 'studio-bert-tiny')));
  const result = await topTokens(loaded, PROBE, 5);
  loaded.model.dispose();
  return result;
}

for (const backend of ['webgpu', 'webgl', 'wasm'] as const) {
  test(`the embedded masked LM loads from public/models and predicts like Node's cpu backend (${backend})`, async ({ studio, page }) => {
    const expected = await expectedInNode();
    await studio.setup(`?backend=${backend}`);
    await expect(studio.backendBadge).toHaveAttribute('data-backend', backend);

    await page.getByTestId('model.select').selectOption('studio-bert-tiny');
    await page.getByTestId('model.load').click();
    const summary = page.getByTestId('model.summary');
    await expect(summary).toBeVisible({ timeout: 60_000 });
    await expect(summary).toHaveAttribute('data-model-type', 'bert');
    const config = JSON.parse(await readFile(join('public', 'models', 'studio-bert-tiny', 'config.json'), 'utf8'));
    await expect(summary).toContainText(`${config.num_hidden_layers} layers, hidden ${config.hidden_size}`);

    await page.getByTestId('model.probe.input').fill(PROBE);
    await page.getByTestId('model.probe.run').click();
    const tokens = page.getByTestId('model.probe.token');
    await expect(tokens).toHaveCount(5, { timeout: 60_000 });
    const got = await tokens.evaluateAll((items) =>
      items.map((li) => ({ id: Number(li.getAttribute('data-token-id')), prob: Number(li.getAttribute('data-prob')) })),
    );
    // Same top token and the same probabilities to float32 accuracy (relative) across backends.
    expect(got[0].id).toBe(expected.tokens[0].id);
    got.forEach((t, i) => expect(Math.abs(t.prob - expected.tokens[i].prob)).toBeLessThan(2e-3 * expected.tokens[i].prob + 1e-7));
    expect(studio.errors).toEqual([]);
    if (backend === 'webgpu') await page.screenshot({ path: 'e2e-artifacts/model-probe.png', fullPage: true });
  });
}

test('a text without the mask token gets a clear error next to the probe, and the page keeps working', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  await page.getByTestId('model.load').click();
  await expect(page.getByTestId('model.summary')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('model.probe.input').fill('no mask here');
  await page.getByTestId('model.probe.run').click();
  await expect(page.getByTestId('model.probe.error')).toContainText('exactly one [MASK] (found 0)');
  await page.getByTestId('model.probe.input').fill('it was [MASK] .');
  await page.getByTestId('model.probe.run').click();
  await expect(page.getByTestId('model.probe.token')).toHaveCount(5);
  await expect(page.getByTestId('model.probe.error')).toHaveCount(0);
});
