/**
 * Reads one file of the Brown Corpus, Form C (tagged): one sentence a line as `word/tag` tokens, a
 * paragraph starting with a tab-indented line. Returns readable paragraphs: tags stripped, quotes
 * restored from `` and '', punctuation attached the way edited prose prints it.
 *
 * Pure: no I/O.
 */

/** Tokens printed without a space before them. */
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', "''"]);
/** Tokens printed without a space after them. */
const ATTACH_RIGHT = new Set(['(', '``']);

/** "Atlanta's/np$" -> "Atlanta's"; "1/2/cd" -> "1/2" (the tag is after the last slash). */
export function stripTag(tagged: string): string {
  const slash = tagged.lastIndexOf('/');
  return slash > 0 ? tagged.slice(0, slash) : tagged;
}

/**
 * Joins bare Brown tokens (one paragraph's worth) into a line of prose. A lone ' is a single quote
 * mark (possessives stay inside their word, "students'"), so lone quotes alternate open / close.
 */
export function detokenize(tokens: readonly string[]): string {
  let out = '';
  let glueNext = true; // nothing before the first token
  let singleQuoteOpen = false;
  let previous = '';
  for (const token of tokens) {
    // "**zg" and friends stand for formulas the corpus left out.
    if (token.startsWith('**')) continue;
    // Inches come as 1/8'' followed by a stray '' token: print 1/8" once.
    if (token === "''" && previous.length > 2 && previous.endsWith("''")) continue;
    // Some samples repeat a stop as two tokens ("; ;", "? ?"); print shows one.
    if ((token === ';' || token === '?' || token === '!') && token === previous) continue;
    previous = token;
    // "Jr." ending a sentence: the corpus adds a full stop that print does not.
    if (token === '.' && out.endsWith('.')) continue;
    let attachLeft = ATTACH_LEFT.has(token);
    let attachRight = ATTACH_RIGHT.has(token);
    if (token === "'") {
      attachLeft = singleQuoteOpen;
      attachRight = !singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    if (!glueNext && !attachLeft) out += ' ';
    out += token === '``' || token === "''" ? '"' : token.replace(/''$/, '"');
    glueNext = attachRight;
  }
  return out;
}

/** One Brown file -> its paragraphs, each a line of plain text. */
export function parseBrownFile(content: string): string[] {
  const paragraphs: string[] = [];
  let tokens: string[] = [];
  const flush = (): void => {
    const paragraph = detokenize(tokens);
    if (paragraph !== '') paragraphs.push(paragraph);
    tokens = [];
  };
  for (const line of content.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (line.startsWith('\t')) flush();
    tokens.push(...line.trim().split(/\s+/).map(stripTag));
  }
  flush();
  return paragraphs;
}
