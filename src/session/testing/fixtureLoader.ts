/** Test helpers for sessions: a model loader that hands out an already-loaded fixture. */
import type { LanguageModel } from '../../engine/languageModel';
import type { ModelLoader } from '../StudioSession';

/**
 * A loader whose every load returns `lm` as model `id`, its weights shared (disposing the loaded
 * model leaves the fixture's alone, so one fixture serves every test of a file). With `lm` null,
 * loads fail.
 */
export function fixtureLoader(lm: LanguageModel | null, id: string): ModelLoader {
  return {
    async load() {
      if (!lm) throw new Error('no fixture');
      const shared = Object.assign(Object.create(lm.model) as typeof lm.model, { dispose() {} });
      return { model: { ...lm, model: shared, config: lm.model.config, checkpointHash: '0'.repeat(64), weightBytes: 0, parameters: 0 }, id };
    },
    cancel: () => false,
  };
}
