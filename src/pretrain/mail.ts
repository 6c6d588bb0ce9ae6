/**
 * Turns a raw RFC 822 e-mail (as stored in the SpamAssassin public corpus) into readable body text:
 * headers dropped, MIME parts walked (text/plain preferred, text/html stripped of tags), transfer
 * encodings and charsets decoded, then quoted replies, signatures, mailing-list footers, PGP blocks,
 * URLs, e-mail addresses and long unbroken strings (base64, hashes) removed.
 *
 * Pure: works on a string whose characters are the file's bytes (read it as latin1).
 */

export interface ParsedMail {
  subject: string;
  /** Paragraphs of cleaned body text, each on one line. */
  paragraphs: string[];
  /** False when the text is not in a Latin-script charset we decode (big5, gb2312, ...). */
  latinScript: boolean;
}

interface MimePart {
  headers: Map<string, string>;
  /** Raw body, one char per byte. */
  body: string;
}

const MAX_MIME_DEPTH = 5;
/** Strings this long without a space are base64, hashes or URLs, not words. */
const MAX_WORD_CHARS = 30;
const LATIN_CHARSETS = new Set(['us-ascii', 'ascii', 'iso-8859-1', 'iso-8859-15', 'windows-1252', 'utf-8', 'latin1', 'default', '']);

function splitHeaders(raw: string): MimePart {
  const text = raw.replace(/\r\n?/g, '\n');
  const blank = text.indexOf('\n\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const body = blank < 0 ? '' : text.slice(blank + 2);
  const headers = new Map<string, string>();
  let current: string | null = null;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && current) {
      headers.set(current, `${headers.get(current)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(current)) headers.set(current, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function headerParam(value: string, name: string): string | null {
  const match = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return match ? (match[1] ?? match[2]) : null;
}

function decodeQuotedPrintable(body: string): string {
  return body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function decodeBase64(body: string): string {
  const cleaned = body.replace(/[^A-Za-z0-9+/=]/g, '');
  let binary = '';
  try {
    binary = atob(cleaned.slice(0, cleaned.length - (cleaned.length % 4)));
  } catch {
    return '';
  }
  return binary;
}

/** Bytes (one char per byte) -> text in the part's charset; unknown charsets read as windows-1252. */
function decodeCharset(bytes: string, charset: string): string {
  const data = Uint8Array.from(bytes, (ch) => ch.charCodeAt(0) & 0xff);
  const label = charset === '' || charset === 'default' || charset === 'us-ascii' ? 'windows-1252' : charset;
  try {
    return new TextDecoder(label).decode(data);
  } catch {
    return new TextDecoder('windows-1252').decode(data);
  }
}

const HTML_ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®' };

export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\s*(br|p|div|tr|li|h[1-6]|table|blockquote|hr)\b[^>]*>/gi, '\n\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (entity, name: string) => {
      if (name[0] === '#') {
        const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : ' ';
      }
      return HTML_ENTITIES[name.toLowerCase()] ?? ' ';
    });
}

interface TextPart {
  text: string;
  html: boolean;
  latinScript: boolean;
}

function collectTextParts(part: MimePart, depth: number, out: TextPart[]): void {
  const contentType = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  const mediaType = contentType.split(';')[0].trim();
  if (mediaType.startsWith('multipart/')) {
    const boundary = headerParam(part.headers.get('content-type') ?? '', 'boundary');
    if (!boundary || depth >= MAX_MIME_DEPTH) return;
    const delimiter = `--${boundary}`;
    const sections = part.body.split('\n').reduce<string[][]>(
      (acc, line) => {
        if (line.startsWith(delimiter)) acc.push([]);
        else acc[acc.length - 1].push(line);
        return acc;
      },
      [[]],
    );
    // sections[0] is the preamble; a section after the closing "--boundary--" is the epilogue.
    for (const section of sections.slice(1)) collectTextParts(splitHeaders(section.join('\n')), depth + 1, out);
    return;
  }
  if (mediaType !== 'text/plain' && mediaType !== 'text/html' && mediaType !== '') return;
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (disposition.startsWith('attachment')) return;
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase().trim();
  let bytes = part.body;
  if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(bytes);
  else if (encoding === 'base64') bytes = decodeBase64(bytes);
  const charset = (headerParam(contentType, 'charset') ?? '').toLowerCase();
  const text = decodeCharset(bytes, charset);
  out.push({ text, html: mediaType === 'text/html' || /<html|<body|<br\s*\/?>|<p>/i.test(text.slice(0, 2000)), latinScript: LATIN_CHARSETS.has(charset) });
}

/** Cuts at the first line that starts a signature, a list footer or a forwarded/quoted original. */
const BODY_END = /^(-- ?|_{10,}|-{10,}.*|={10,}|-+ ?original message ?-+|-+ ?forwarded message.*)$/i;
/** "On Tue, Bob wrote:" introduces quoted lines, which are dropped anyway; the reply may follow. */
const QUOTE_INTRO = /\b(wrote|writes|said)\s*:\s*$/i;

function cleanLines(text: string): string[] {
  const lines: string[] = [];
  let inPgpBlock = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\s+$/, '');
    if (/^-----BEGIN PGP SIGNATURE-----/.test(line)) inPgpBlock = true;
    if (inPgpBlock) {
      if (/^-----END PGP SIGNATURE-----/.test(line)) inPgpBlock = false;
      continue;
    }
    if (/^-----BEGIN PGP SIGNED MESSAGE-----|^Hash: /.test(line)) continue;
    if (BODY_END.test(line.trim())) break;
    if (/^\s*(>|\|)/.test(line) || QUOTE_INTRO.test(line)) continue; // quoted reply
    lines.push(line);
  }
  return lines;
}

function cleanParagraph(paragraph: string): string {
  return paragraph
    // Numeric entities survive in plain-text parts and in double-escaped HTML ("&amp;#8220;").
    .replace(/&#(\d{2,6});/g, (_, code: string) => {
      const cp = Number(code);
      return cp > 0x1f && cp < 0x110000 ? String.fromCodePoint(cp) : ' ';
    })
    .replace(/\b(?:https?|ftp|mailto):[^\s<>"]*/gi, ' ')
    .replace(/\bwww\.[^\s<>"]+/gi, ' ')
    .replace(/[^\s<>"'(),;:]+@[^\s<>"'(),;:]+\.[a-z]{2,}/gi, ' ')
    .replace(/\S+/g, (word) => (word.length > MAX_WORD_CHARS ? ' ' : word))
    .replace(/([!?.*=_#~-])\1{3,}/g, '$1$1$1') // "!!!!!!!!" / "=======" runs
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\ufffd]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A paragraph worth keeping: some words, mostly letters (not code, tables or ASCII art). */
function isProse(paragraph: string): boolean {
  const words = paragraph.split(' ');
  if (words.length < 3) return false;
  const letters = paragraph.match(/\p{L}/gu)?.length ?? 0;
  return letters / paragraph.length >= 0.6;
}

export function parseMail(raw: string): ParsedMail {
  const root = splitHeaders(raw);
  const subject = cleanParagraph(decodeCharset(root.headers.get('subject') ?? '', ''));
  const parts: TextPart[] = [];
  collectTextParts(root, 0, parts);
  const plain = parts.filter((p) => !p.html);
  const chosen = plain.length > 0 ? plain : parts;
  const paragraphs: string[] = [];
  for (const part of chosen) {
    const text = part.html ? htmlToText(part.text) : part.text;
    const blocks = cleanLines(text.replace(/\r\n?/g, '\n')).join('\n').split(/\n\s*\n/);
    for (const block of blocks) {
      const paragraph = cleanParagraph(block);
      if (isProse(paragraph)) paragraphs.push(paragraph);
    }
  }
  return { subject, paragraphs, latinScript: chosen.every((p) => p.latinScript) };
}
