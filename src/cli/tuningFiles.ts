/**
 * Where measure-samples leaves its records and how the model card finds them again: one file per
 * (sample, method) run so that runs can share the cores, merged by the card in file-name order.
 *   tuning.json / tuning-<sample>.json             plain prompt tuning (the names older records have)
 *   tuning.<method>.json / tuning-<sample>.<method>.json   another method
 */
import type { PromptMethod } from '../engine/types';

export function tuningFileName(sample: string | undefined, method: PromptMethod): string {
  return `tuning${sample ? `-${sample}` : ''}${method === 'prompt' ? '' : `.${method}`}.json`;
}

export const TUNING_FILE = /^tuning(-[a-z]+)?(\.[a-z-]+)?\.json$/;
