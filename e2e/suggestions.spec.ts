import { expect, test } from './fixtures/studio';

// "Suggest label words" on the embedded BERT: whole words ranked by how much their probability rises
// for one class against the other on the training split, each with its score and zero-shot accuracy,
// and a verdict that says when nothing is convincing.
test.setTimeout(180_000);

const STOP_WORDS = new Set(['the', 'a', 'of', 'and', 'to', 'it', 'is', 'was', 'be', 'do', 'she', 'he', 'see', 'all', 'in', 'that', 'this']);

test('spam: convincing words with scores and accuracies, the best set in one click; sentiment: nothing convincing, said', async ({ studio }) => {
  await studio.setup('?backend=wasm');
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.byId('data.sample').selectOption('spam.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('spam.csv', 600);
  await expect(studio.byId('template.preview')).toBeVisible();

  await studio.byId('labels.suggest').click();
  const verdict = studio.byId('labels.suggest.verdict');
  await expect(verdict).toBeVisible({ timeout: 90_000 });
  await expect(verdict).toHaveAttribute('data-convincing', 'true');
  await expect(verdict).toHaveText(/^These words separate the classes: the top .* of each class gives? \d+% zero-shot on these 200 training rows, against 50% for always answering/);
  await expect(studio.byId('labels.suggest.sets')).toContainText(/1: \d+% · 2: \d+%/);

  for (const className of ['spam', 'ham']) {
    const chips = studio.byId(`labels.suggestions.${className}`).locator('button.chip');
    await expect(chips).toHaveCount(5);
    for (const text of await chips.allTextContents()) {
      // "+ word 1.23 · 78%": a whole word (no ## piece, no punctuation, no stop word), its separation and accuracy.
      const m = /^\+ (\p{L}+) (\d+\.\d\d) · (\d+)%$/u.exec(text.trim());
      expect(m, text).not.toBeNull();
      expect(STOP_WORDS.has(m![1])).toBe(false);
      expect(Number(m![2])).toBeGreaterThan(0);
    }
    await expect(chips.first()).toHaveAttribute('title', /rises by \d+\.\d\d standard deviations on “\w+” rows against the other classes/);
  }
  // Scores fall from the first word to the last.
  const scores = await studio.byId('labels.suggestions.spam').locator('button.chip').evaluateAll((chips) => chips.map((c) => Number(c.getAttribute('data-score'))));
  expect(scores).toEqual([...scores].sort((a, b) => b - a));

  // The best set goes into the label-word inputs.
  await studio.byId('labels.suggest.useBest').click();
  const spamWords = (await studio.byId('labels.class.spam').inputValue()).split(', ');
  expect(spamWords.length).toBeGreaterThanOrEqual(1);
  const offered = await studio.byId('labels.suggestions.spam').locator('button.chip').evaluateAll((chips) => chips.map((c) => c.getAttribute('data-word')));
  expect(offered.slice(0, spamWords.length)).toEqual(spamWords);
  await studio.panelShot('template.panel', 'suggestions-1-spam');

  // Sentiment: the embedded model hardly tells the classes apart at the mask, and the page says so.
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await studio.byId('labels.suggest').click();
  await expect(verdict).toHaveAttribute('data-convincing', 'false', { timeout: 90_000 });
  await expect(verdict).toHaveText(/^(Nothing|Not) convincing: /);
  await expect(verdict).toContainText('the linear-head mode');
  await studio.panelShot('template.panel', 'suggestions-2-sentiment');
  expect(studio.errors).toEqual([]);
});
