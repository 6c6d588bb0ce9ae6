/**
 * The sweep form's text as typed, field by field (an empty axis field is not swept). Kept here, not
 * in the panel, so the saved session can keep it across reloads (savedSession.ts) like the
 * Training panel's draft.
 */
import { DEFAULT_TEST_FRACTION } from '../shared/sweep';

export interface SweepDraft {
  learningRate: string;
  promptLength: string;
  batchSize: string;
  epochs: string;
  init: string;
  method: string;
  /** One alternative label-word set per line: "positive=good,great; negative=bad". */
  labelWords: string;
  search: 'grid' | 'random';
  randomTrials: string;
  budgetSteps: string;
  budgetMinutes: string;
  testFraction: string;
  /** k-fold cross-validation: empty for none (the default), else 2 to MAX_SWEEP_FOLDS. */
  folds: string;
}

/** The form as a page opens. */
export const DEFAULT_SWEEP_DRAFT: SweepDraft = {
  learningRate: '0.03, 0.1',
  promptLength: '5, 20',
  batchSize: '',
  epochs: '',
  init: '',
  method: '',
  labelWords: '',
  search: 'grid',
  randomTrials: '4',
  budgetSteps: '',
  budgetMinutes: '',
  testFraction: String(DEFAULT_TEST_FRACTION),
  folds: '',
};

const TEXT_FIELDS = ['learningRate', 'promptLength', 'batchSize', 'epochs', 'init', 'method', 'labelWords', 'randomTrials', 'budgetSteps', 'budgetMinutes', 'testFraction', 'folds'] as const;

/** A kept form over the defaults: a field missing or of the wrong type keeps its default. */
export function parseSweepDraft(value: unknown): SweepDraft {
  const draft = { ...DEFAULT_SWEEP_DRAFT };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return draft;
  const v = value as Record<string, unknown>;
  for (const key of TEXT_FIELDS) if (typeof v[key] === 'string') draft[key] = v[key] as string;
  if (v.search === 'grid' || v.search === 'random') draft.search = v.search;
  return draft;
}

/** The form differs from the one a page opens with. */
export function sweepDraftChanged(draft: SweepDraft): boolean {
  return (Object.keys(DEFAULT_SWEEP_DRAFT) as (keyof SweepDraft)[]).some((k) => draft[k] !== DEFAULT_SWEEP_DRAFT[k]);
}
