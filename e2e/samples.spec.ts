import { SAMPLES } from '../src/shared/samples';
import { expect, test } from './fixtures/studio';

// A sample from the list arrives set up: its template for the loaded model and its label words,
// so Start is one click away; a template the user edits is kept until another sample is loaded.
test.setTimeout(180_000);

test('loading a sample fills its template and label words, for the model that is loaded', async ({ studio }) => {
  await studio.setup();
  await studio.loadEmbeddedModel('studio-bert-tiny');
  const spam = SAMPLES.find((s) => s.file === 'spam.csv')!;
  const sentiment = SAMPLES.find((s) => s.file === 'sentiment.csv')!;

  await studio.byId('data.sample').selectOption('spam.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('spam.csv', 600);
  await expect(studio.byId('template.input')).toHaveValue(spam.templates['masked-lm']!);
  await expect(studio.byId('labels.class.spam')).toHaveValue(spam.labelWords!.spam.join(', '));
  await expect(studio.byId('labels.class.ham')).toHaveValue(spam.labelWords!.ham.join(', '));
  await expect(studio.byId('train.start')).toBeEnabled({ timeout: 30_000 });

  // An edited template stays while the data stays ...
  await studio.setTemplate('{text} Spam? [MASK].');
  await studio.loadEmbeddedModel('studio-gpt2-tiny');
  await expect(studio.byId('template.input')).toHaveValue('{text} Spam? [MASK].');
  // ... and the next sample brings its own, for the model now loaded.
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await expect(studio.byId('template.input')).toHaveValue(sentiment.templates['causal-lm']!);
  await expect(studio.byId('labels.class.positive')).toHaveValue(sentiment.labelWords!.positive.join(', '));
  // The preview follows: sentiment rows, rendered for the causal LM (no [MASK] in its template).
  await expect(studio.byId('template.preview.example').first().locator('.tok-mask')).toHaveCount(0);
  await expect(studio.byId('template.preview.example').first()).toContainText('was');
  await studio.panelShot('template.panel', 'samples-1-sentiment-preset');
});
