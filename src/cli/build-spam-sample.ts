/**
 * Writes public/samples/spam.csv (columns text,label; labels spam/ham): a balanced, seeded choice of
 * short cleaned SpamAssassin mail bodies. src/pretrain/corpus.ts makes the same choice and leaves these
 * mails out of the pretraining corpus. Usage: npx tsx src/cli/build-spam-sample.ts
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadSpamAssassinMails } from '../pretrain/corpus';
import { selectSpamSample, toCsv } from '../pretrain/spamSample';

const OUTPUT = 'public/samples/spam.csv';

const rows = selectSpamSample(loadSpamAssassinMails());
mkdirSync('public/samples', { recursive: true });
writeFileSync(OUTPUT, toCsv(['text', 'label'], rows.map((row) => [row.text, row.label])));
const counts = rows.reduce<Record<string, number>>((acc, row) => ({ ...acc, [row.label]: (acc[row.label] ?? 0) + 1 }), {});
console.log(`${OUTPUT}: ${rows.length} rows ${JSON.stringify(counts)}, ${(statSync(OUTPUT).size / 1024).toFixed(1)} KiB`);
