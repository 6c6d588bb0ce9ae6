/** Simple, seeded input perturbations for the robustness report. */
import type { Random } from './random';

export const PERTURBATIONS = ['lowercase', 'typos', 'droppedWords'] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

/** Share of eligible words (4+ letters) that get one character typo. */
export const TYPO_WORD_RATE = 0.3;
/** Share of words dropped (at least one word is always kept). */
export const DROP_WORD_RATE = 0.2;

/** One typo inside a word: swap two neighbours, delete one, or repeat one (chosen at random). */
function typo(word: string, rng: Random): string {
  const i = 1 + rng.int(word.length - 2); // keep the first character
  switch (rng.int(3)) {
    case 0:
      return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    default:
      return word.slice(0, i) + word[i] + word.slice(i);
  }
}

export function perturbText(text: string, kind: Perturbation, rng: Random): string {
  switch (kind) {
    case 'lowercase':
      return text.toLowerCase();
    case 'typos':
      return text
        .split(/(\s+)/)
        .map((w) => (/^\p{L}{4,}$/u.test(w) && rng.uniform() < TYPO_WORD_RATE ? typo(w, rng) : w))
        .join('');
    case 'droppedWords': {
      const words = text.split(/\s+/).filter(Boolean);
      if (words.length <= 1) return text;
      const kept = words.filter(() => rng.uniform() >= DROP_WORD_RATE);
      return (kept.length > 0 ? kept : [words[rng.int(words.length)]]).join(' ');
    }
  }
}
