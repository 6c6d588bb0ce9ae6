/**
 * `npm test` runs this first (and `npm run test:e2e` with --e2e): one line and exit 1 when the
 * machine lacks what the tests need (src/node/preflight.ts), silence otherwise.
 */
import { missingForTests, probeMachine } from '../node/preflight';

const missing = missingForTests(probeMachine(), process.argv.includes('--e2e') ? 'e2e' : 'all');
if (missing) {
  console.error(missing);
  process.exit(1);
}
