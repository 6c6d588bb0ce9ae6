/**
 * Picks the rows of `public/samples/spam.csv` from the SpamAssassin corpus: a balanced, seeded choice
 * of short cleaned bodies. The same choice is made when the pretraining corpus is built, so these
 * mails can be left out of it (a model must not have pretrained on its evaluation rows).
 *
 * Pure: no I/O.
 */
import type { ParsedMail } from './mail';

export type MailLabel = 'spam' | 'ham';

export interface MailRecord {
  /** "<group>/<number>", e.g. "spam-2/00005". */
  id: string;
  group: string;
  label: MailLabel;
  mail: ParsedMail;
}

export interface SpamSampleRow {
  id: string;
  text: string;
  label: MailLabel;
}

export const SPAM_SAMPLE_SEED = 'spam-sample-v1';
export const SPAM_SAMPLE_ROWS_PER_LABEL = 300;
export const SPAM_SAMPLE_MAX_CHARS = 300;
/** Rows a visitor of the studio would not want on screen; such mails stay in the pretraining corpus. */
const EXPLICIT = /\b(p[o*]rn\w*|sex\w*|xxx|nude|naked|horny|teens?|fuck\w*|f\*ck|sh[i*]t|pussy|cock|dick|hardcore|erotic\w*|slut\w*|orgasm\w*)\b/i;
/** Bodies shorter than this say too little to classify. */
const MIN_SAMPLE_CHARS = 60;
/** Ham comes from the easy-ham folders only; hard-ham is commercial mail that reads as spam. */
const SAMPLE_HAM_GROUPS = new Set(['easy-ham-1', 'easy-ham-2']);

/**
 * A stable, seedable hash of `key` mapped to [0, 1), for deterministic choices: FNV-1a over the text,
 * then MurmurHash3's finaliser so that ids differing only in their last digits spread over the range.
 */
export function seededUnit(seed: string, key: string): number {
  let hash = 0x811c9dc5;
  const text = `${seed}\u0000${key}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

/** First ~maxChars of the body, cut at a word boundary; null when the mail is unusable as a row. */
export function sampleText(mail: ParsedMail, maxChars = SPAM_SAMPLE_MAX_CHARS): string | null {
  if (!mail.latinScript) return null;
  const body = mail.paragraphs.join(' ');
  if (body.length < MIN_SAMPLE_CHARS) return null;
  if (body.length <= maxChars) return body;
  const cut = body.slice(0, maxChars + 1);
  const lastSpace = cut.lastIndexOf(' ');
  return (lastSpace > maxChars / 2 ? cut.slice(0, lastSpace) : cut.slice(0, maxChars)).replace(/[\s,;:-]+$/, '');
}

/** Key under which two rows count as the same text (the corpora hold many resent copies). */
export function duplicateKey(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().slice(0, 120);
}

export function selectSpamSample(mails: readonly MailRecord[], perLabel = SPAM_SAMPLE_ROWS_PER_LABEL, seed = SPAM_SAMPLE_SEED): SpamSampleRow[] {
  const rows: SpamSampleRow[] = [];
  for (const label of ['spam', 'ham'] as const) {
    const candidates = mails
      .filter((m) => m.label === label && (label === 'spam' || SAMPLE_HAM_GROUPS.has(m.group)))
      .map((m) => ({ m, order: seededUnit(seed, m.id) }))
      .sort((a, b) => a.order - b.order || (a.m.id < b.m.id ? -1 : 1));
    const seen = new Set<string>();
    let taken = 0;
    for (const { m } of candidates) {
      if (taken >= perLabel) break;
      const text = sampleText(m.mail);
      if (text === null || EXPLICIT.test(text)) continue;
      const key = duplicateKey(text);
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ id: m.id, text, label });
      taken++;
    }
  }
  // Interleave the labels in a seeded order so a file prefix is still balanced-ish.
  return rows.sort((a, b) => seededUnit(`${seed}:order`, a.id) - seededUnit(`${seed}:order`, b.id));
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled; CRLF-free. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const field = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n';
}
