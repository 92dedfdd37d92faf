// Child of rollup.test.ts: writes batches into an embedded store until it is killed (kill -9),
// printing each committed batch; bounded to 400 batches and 30 s in case nobody kills it.

import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { rollupEvents } from './rollup-events.js';

const dir = process.argv[2]!;
const store = await EmbeddedStore.open(dir, { worker: true, openSealer: async () => new TestSealer(testSealerOptions(dir)) });
const end = Date.now() + 30_000;
for (let k = 0; k < 400 && Date.now() < end; k++) {
  await store.write(rollupEvents(k, 500));
  process.stdout.write(`batch ${k}\n`);
}
await store.close();
