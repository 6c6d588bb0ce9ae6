import { useEffect, useId, useRef, useState } from 'react';
import type { ChatTemplateOption, ModelSummary } from '../shared/protocol';
import type { LabelWordSuggestions, TemplatePreview } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import type { TemplateChecks } from './useTemplateChecks';
import { errorText, plural } from './format';
import { parseWords } from './mapping';

export interface TemplatePanelProps {
  client: StudioClient;
  model: ModelSummary | null;
  columns: string[] | null;
  /** The label or target column: not offered as a placeholder (the model would see the answer). */
  answerColumn: string;
  task: 'classification' | 'generation';
  template: string;
  onTemplate(template: string): void;
  /** The prompt length set in Training: the size of the [SOFT*N] the chip inserts. */
  promptLength: number;
  /** Prefix tuning: the virtual tokens sit at every layer, so the template takes no [SOFT]. */
  prefix: boolean;
  /** Classification: the classes found in the label column, in order. */
  classes: string[];
  labelWords: Record<string, string>;
  onLabelWords(words: Record<string, string>): void;
  /** Head mode: label words are optional (zero-shot baseline and the 'labels' init). */
  headMode: boolean;
  checks: TemplateChecks;
  /** For the suggestion: the training split of the current mapping. */
  suggestRequest: { labelColumn: string; textColumns: string[]; valFraction: number; seed: number } | null;
}

/** Step 3: the template with placeholders from the CSV, its tokenized preview, and the label words. */
export function TemplatePanel(props: TemplatePanelProps) {
  const { model, columns, task, template, onTemplate, checks } = props;
  const ids = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const blocked = !model ? 'Load a model first (step 2).' : !columns ? 'Load a dataset first (step 1).' : null;

  const insert = (snippet: string) => {
    const el = textarea.current;
    const start = el?.selectionStart ?? template.length;
    const end = el?.selectionEnd ?? template.length;
    const next = template.slice(0, start) + snippet + template.slice(end);
    onTemplate(next);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + snippet.length, start + snippet.length);
    });
  };

  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="template.panel">
      <h2 id={`${ids}-h`}>3. Template{task === 'classification' ? ' and label words' : ''}</h2>
      {blocked ? (
        <p className="muted" data-testid="template.blocked">
          {blocked}
        </p>
      ) : (
        <>
          <label htmlFor={`${ids}-template`}>Template</label>
          <textarea
            id={`${ids}-template`}
            ref={textarea}
            className="template-input"
            data-testid="template.input"
            rows={2}
            value={template}
            spellCheck={false}
            aria-invalid={checks.previewError !== null}
            aria-describedby={`${ids}-help ${ids}-error`}
            onChange={(e) => onTemplate(e.target.value)}
          />
          <div className="row chips" aria-label="Insert into the template">
            <span className="muted">Insert:</span>
            {columns!.filter((c) => c !== props.answerColumn).map((c) => (
              <button key={c} type="button" className="chip" data-testid={`template.insert.${c}`} onClick={() => insert(`{${c}}`)}>
                {`{${c}}`}
              </button>
            ))}
            {model!.maskToken && (
              <button type="button" className="chip" data-testid="template.insert.mask" onClick={() => insert('[MASK]')}>
                [MASK]
              </button>
            )}
            {!props.prefix && (
              <button type="button" className="chip" data-testid="template.insert.soft" onClick={() => insert(`[SOFT*${props.promptLength}]`)}>
                [SOFT*{props.promptLength}]
              </button>
            )}
          </div>
          {model!.chatTemplate && <ChatTemplateChoice option={model!.chatTemplate} template={template} onTemplate={onTemplate} />}
          <p id={`${ids}-help`} className="muted help">
            <code>{'{column}'}</code> is replaced by the row's text.{' '}
            {model!.lmKind === 'masked-lm' && task === 'classification' && props.headMode
              ? 'Linear-head mode reads the [CLS] position, so [MASK] is optional (with one, label words give a zero-shot baseline). '
              : model!.lmKind === 'masked-lm'
              ? 'The model predicts the label word at [MASK] (required for this encoder). '
              : task === 'generation'
                ? 'The model continues after the template with the target text. '
                : 'The model predicts the label word as the next token after the template. '}
            {props.prefix
              ? `Prefix tuning: the ${props.promptLength} virtual tokens are keys and values at every layer, not in the text.`
              : 'Soft tokens go right after [CLS]/start unless you place them with [SOFT] or [SOFT*N].'}
          </p>
          <p id={`${ids}-error`} className="note note-error" role="alert" data-testid="template.error" hidden={!checks.previewError}>
            {checks.previewError}
          </p>
          {checks.preview && <Preview preview={checks.preview} stale={checks.previewError !== null} task={task} />}
          {task === 'classification' && <LabelWords {...props} />}
        </>
      )}
    </section>
  );
}

/**
 * "Use the model's chat template": the template becomes the user's message of the checkpoint's chat
 * format (rendered by the session), so the label word or target is the assistant's reply. Unticking
 * takes the wrapping off again.
 */
function ChatTemplateChoice({ option, template, onTemplate }: { option: ChatTemplateOption; template: string; onTemplate(t: string): void }) {
  const id = useId();
  if (!option.ok) {
    return (
      <p className="muted help" data-testid="template.chat.unavailable">
        This checkpoint has a chat template, but it cannot be offered: {option.error}.
      </p>
    );
  }
  const { before, after } = option;
  const inUse = template.length >= before.length + after.length && template.startsWith(before) && template.endsWith(after);
  const toggle = (on: boolean) => onTemplate(on ? before + template.trim() + after : template.slice(before.length, template.length - after.length));
  return (
    <p data-testid="template.chat">
      <label className="inline">
        <input type="checkbox" data-testid="template.chat.use" aria-describedby={id} checked={inUse} onChange={(e) => toggle(e.target.checked)} />
        Use the model's chat template
      </label>
      <span id={id} className="muted">
        (the template above becomes the user's message; the label word or target is the start of the assistant's reply)
      </span>
    </p>
  );
}

function Preview({ preview, stale, task }: { preview: TemplatePreview; stale: boolean; task: 'classification' | 'generation' }) {
  return (
    <div className={`preview${stale ? ' stale' : ''}`} data-testid="template.preview" aria-live="polite">
      <p className="muted" data-testid="template.counts">
        {plural(preview.softCount, 'soft token')} · the template takes {preview.fixedLength} of {preview.maxLength} positions · examples average{' '}
        {preview.meanTokens.toFixed(1)} tokens, longest {preview.maxTokens}
        {preview.truncatedRows > 0 ? ` · ${plural(preview.truncatedRows, 'row')} of the first ${preview.checkedRows} cut to fit` : ''}
      </p>
      <ol className="token-examples">
        {preview.examples.map((ex) => (
          <li key={ex.row} data-testid="template.preview.example">
            <span className="muted">
              Row {ex.row} · {plural(ex.tokenCount, 'token')}
            </span>
            {ex.truncated && (
              <span className="tag tag-warn" data-testid="template.preview.truncated" title="A column's text was cut from its end to fit the model">
                ✂ truncated
              </span>
            )}
            <span className="tokens">
              {ex.tokens.map((t, i) => (
                <span key={i} className={`tok tok-${t.kind}`} title={t.kind}>
                  {t.text}
                </span>
              ))}
            </span>
          </li>
        ))}
      </ol>
      <p className="muted legend">
        <span className="tok tok-soft">P1</span> soft token <span className="tok tok-special">special</span> special token{' '}
        {preview.lmKind === 'masked-lm' && (
          <>
            <span className="tok tok-mask">[MASK]</span> the label word is predicted here
          </>
        )}
        {preview.lmKind === 'causal-lm' && task === 'classification' && 'the label word is predicted after the last token'}
        {task === 'generation' && (
          <>
            <span className="tok tok-target">target</span> target tokens (the loss is on these)
          </>
        )}
      </p>
    </div>
  );
}

function LabelWords({ client, model, classes, labelWords, onLabelWords, headMode, checks, template, suggestRequest }: TemplatePanelProps) {
  const ids = useId();
  const [suggestions, setSuggestions] = useState<LabelWordSuggestions | null>(null);
  const [suggesting, setSuggesting] = useState<number | null>(null); // the share of rows scored, while it runs
  const [suggestError, setSuggestError] = useState<string | null>(null);
  const general = checks.wordProblems.get(null) ?? [];
  const generalNotes = checks.wordWarnings.get(null) ?? [];
  const encoder = model?.lmKind === 'masked-lm';

  // Suggestions belong to the classes (and data) they were made for.
  const classKey = classes.join('\n');
  useEffect(() => setSuggestions(null), [classKey]);
  const suggest = async () => {
    if (!suggestRequest) return;
    setSuggesting(0);
    setSuggestError(null);
    try {
      setSuggestions(await client.call('suggestLabelWords', { template, topK: 5, ...suggestRequest }, { onProgress: (p) => setSuggesting(p.fraction ?? 0) }));
    } catch (e) {
      setSuggestError(errorText(e));
    } finally {
      setSuggesting(null);
    }
  };
  const addWord = (className: string, word: string) => {
    const words = parseWords(labelWords[className] ?? '');
    if (!words.includes(word)) onLabelWords({ ...labelWords, [className]: [...words, word].join(', ') });
  };

  if (classes.length === 0) return <p className="muted">Label words appear here once the label column has classes.</p>;
  return (
    <fieldset className="label-words" data-testid="labels.panel">
      <legend>Label words{headMode ? " (optional in linear-head mode: the zero-shot baseline and the 'labels' init)" : ''}</legend>
      <p className="muted help">
        One or more words per class, comma-separated. A class scores the mean log-probability of its words at the prediction point; a word longer than one token
        is scored by all of its tokens, each given the ones before it
        {encoder ? ' (one [MASK] per token, filled left to right)' : ' (the template followed by the earlier tokens)'}: log P(word) = Σ log P(token | earlier tokens).
      </p>
      {checks.sequencesPerExample > 1 && (
        <p className="muted help" data-testid="labels.cost">
          Scoring these words runs {checks.sequencesPerExample} sequences per example instead of one, so training and evaluation take about{' '}
          {checks.sequencesPerExample} times as long.
        </p>
      )}
      {classes.map((c) => {
        const problems = checks.wordProblems.get(c) ?? [];
        const multi = checks.multiTokenWords.filter((w) => w.className === c);
        const warnings = checks.wordWarnings.get(c) ?? [];
        return (
          <div key={c} className="label-row">
            <label htmlFor={`${ids}-${c}`}>{c}</label>
            <input
              id={`${ids}-${c}`}
              data-testid={`labels.class.${c}`}
              value={labelWords[c] ?? ''}
              placeholder="e.g. good, great"
              aria-invalid={problems.length > 0}
              aria-describedby={`${ids}-${c}-err`}
              onChange={(e) => onLabelWords({ ...labelWords, [c]: e.target.value })}
            />
            <div id={`${ids}-${c}-err`}>
              {problems.map((p) => (
                <p key={p} className="field-error" role="alert" data-testid={`labels.class.${c}.error`}>
                  {p}
                </p>
              ))}
              {warnings.map((w) => (
                <p key={w} className="field-note note-warn" data-testid={`labels.class.${c}.warning`}>
                  {w}
                </p>
              ))}
              {multi.map((w) => (
                <p key={w.word} className="muted field-note" data-testid={`labels.class.${c}.note`}>
                  “{w.word}” is {w.tokens.length} tokens ({w.tokens.join(' ')}), scored by all of them{encoder ? ` at ${w.tokens.length} [MASK]s` : ''}:{' '}
                  {w.tokens.map((t, j) => `log P(${t}${j > 0 ? ` | ${w.tokens.slice(0, j).join(' ')}` : ''})`).join(' + ')}.
                </p>
              ))}
            </div>
            {suggestions?.classes[c] && (
              <div className="row chips suggestions" data-testid={`labels.suggestions.${c}`}>
                <span className="muted">Suggested:</span>
                {suggestions.classes[c].length === 0 && <span className="muted">no word rises for this class</span>}
                {suggestions.classes[c].map((s) => (
                  <button
                    key={s.word}
                    type="button"
                    className="chip"
                    data-testid={`labels.suggestion.${c}.${s.word}`}
                    data-word={s.word}
                    data-score={s.score.toFixed(3)}
                    data-accuracy={s.accuracy ?? undefined}
                    title={
                      `Separation ${s.score.toFixed(2)}: log P(${s.word}) rises by ${s.score.toFixed(2)} standard deviations on “${c}” rows against the other classes ` +
                      `(×${Math.exp(s.rise).toFixed(2)} as likely; mean P ${s.meanProbability.toExponential(1)})` +
                      (s.accuracy !== null ? `. As the one word of “${c}”, beside each other class's top word: ${percent(s.accuracy)} zero-shot on the training rows.` : '.')
                    }
                    onClick={() => addWord(c, s.word)}
                  >
                    + {s.word} <span className="chip-score">{s.score.toFixed(2)}</span>
                    {s.accuracy !== null && <span className="chip-score"> · {percent(s.accuracy)}</span>}
                  </button>
                ))}
              </div>
            )}
          </div>
        );
      })}
      {general.map((p) => (
        <p key={p} className="field-error" role="alert" data-testid="labels.error">
          {p}
        </p>
      ))}
      {generalNotes.map((n) => (
        <p key={n} className="field-note note-warn" data-testid="labels.note">
          {n}
        </p>
      ))}
      <div className="row">
        <button
          type="button"
          data-testid="labels.suggest"
          disabled={suggesting !== null || !suggestRequest || checks.previewError !== null || !model?.hasLmHead}
          title={model && !model.hasLmHead ? 'This checkpoint has no LM head to predict words with.' : undefined}
          onClick={() => void suggest()}
        >
          {suggesting !== null ? `Scoring the vocabulary… ${Math.round(100 * suggesting)}%` : 'Suggest label words'}
        </button>
        <span className="muted">
          Ranks the words the frozen model predicts {encoder ? 'at the mask' : 'after the template'} by how much their probability rises for one class against the others on the training
          split (whole words only: no word pieces, stop words or punctuation).
        </span>
      </div>
      {suggestError && (
        <p className="note note-error" role="alert" data-testid="labels.suggest.error">
          {suggestError}
        </p>
      )}
      {suggestions && <SuggestionSummary suggestions={suggestions} onUse={(words) => onLabelWords({ ...labelWords, ...Object.fromEntries(Object.entries(words).map(([c, ws]) => [c, ws.join(', ')])) })} />}
    </fieldset>
  );
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The sets' zero-shot accuracies on the training rows, the verdict, and a button to take the best set. */
function SuggestionSummary({ suggestions, onUse }: { suggestions: LabelWordSuggestions; onUse(words: Record<string, string[]>): void }) {
  const best = suggestions.best !== null ? suggestions.sets[suggestions.best] : null;
  return (
    <div className="suggestion-summary" data-testid="labels.suggest.summary">
      <p className="muted">
        From {plural(suggestions.examples, 'training row')}. Each word shows its separation (how many standard deviations its log-probability rises for its class) and the
        zero-shot accuracy on those rows with it as its class's one word. Click a word to add it.
      </p>
      {suggestions.sets.length > 0 && (
        <p className="muted" data-testid="labels.suggest.sets">
          Zero-shot on these rows, the top k words of every class:{' '}
          {suggestions.sets.map((s) => `${s.wordsPerClass}: ${percent(s.accuracy)}`).join(' · ')} (always “{suggestions.majority.label}”: {percent(suggestions.majority.accuracy)}).
        </p>
      )}
      <p className={`note ${suggestions.convincing ? 'note-ok' : 'note-warn'}`} role="status" data-testid="labels.suggest.verdict" data-convincing={suggestions.convincing}>
        {suggestions.verdict}
      </p>
      {best && (
        <button type="button" className="chip chip-plain" data-testid="labels.suggest.useBest" onClick={() => onUse(best.words)}>
          use the top {best.wordsPerClass === 1 ? 'word' : `${best.wordsPerClass} words`} of every class ({percent(best.accuracy)})
        </button>
      )}
    </div>
  );
}
