#!/usr/bin/env node
// The `sluice` command: runs the compiled CLI (npm install builds it into dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('sluice: dist/ is missing; run `npm install` (it builds) or `npm run build` first\n');
  process.exit(2);
}
await import(main.href);
