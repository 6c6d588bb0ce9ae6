import * as tf from '@tensorflow/tfjs';
import type { WorkerApi } from './handler';
import { describeFailures, selectTfjsBackend } from './backend';

/** The worker's side of every request kind. Engine work is delegated to src/engine as it lands. */
export function createWorkerApi(): WorkerApi {
  return {
    async init({ preferredBackends }, { progress }) {
      progress({ stage: 'choosing backend' });
      const { backend, failures } = await selectTfjsBackend(preferredBackends);
      return {
        backend,
        ...(failures.length > 0 ? { fallbackReason: describeFailures(failures) } : {}),
        tfjsVersion: tf.version.tfjs,
      };
    },
    ping() {
      return { pong: true };
    },
  };
}
