// Runs the compiled test suites with node's test runner; prints its closing summary.
//
// Usage: node test/run.mjs [dir-or-file under dist/test ...]   (npm test builds first)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist', 'test');
const args = process.argv.slice(2);
const targets = args.length ? args.map((a) => path.resolve(a)) : [dist];

function collect(p, out) {
  const st = fs.statSync(p);
  if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) collect(path.join(p, e), out);
  else if (p.endsWith('.test.js')) out.push(p);
  return out;
}
const files = targets.flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error(`no *.test.js under ${targets.join(', ')}: did the build run?`);
  process.exit(1);
}
// Two files at a time: the machine has two cores and several suites run real peers.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env },
});
process.exit(r.status ?? 1);
