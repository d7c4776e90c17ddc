/**
 * `make soak`: every part of the soak at full scale, each figure printed as
 * it is measured; exits non-zero on the first part that fails. Not in CI
 * (about ten minutes); `make test` runs the same parts at the bounded scale.
 */
import { PARTS } from '../test/soak/index.js';

let failed = 0;
for (const part of PARTS) {
  const started = Date.now();
  console.log(`== ${part.name}`);
  try {
    await part.run('soak', (figure, value) => console.log(`   ${figure}: ${value}`));
    console.log(`   ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    failed++;
    console.log(`   FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
console.log(failed ? `soak: ${failed} of ${PARTS.length} parts failed` : `soak: all ${PARTS.length} parts passed`);
process.exit(failed ? 1 : 0);
