/** The soak's bounded part: every part of `make soak` at the `test` scale, its figures as diagnostics. */
import { test } from 'node:test';
import { PARTS } from '../soak/index.js';

for (const part of PARTS) {
  test(`soak (bounded): ${part.name}`, async (t) => {
    await part.run('test', (figure, value) => t.diagnostic(`${figure}: ${value}`));
  });
}
