// Start-up settings of V8 while sluice loads its modules and builds its pipeline, undone once
// it runs (`sluice run`: after the pipeline started; other verbs: once their module is loaded).
//
// - The young generation stays at its initial size. Loading allocates a few tens of MB that
//   all survive; V8 reads that survival rate as a reason to grow the young generation
//   (semi-spaces of 1 MB doubling up to 16 MB), and that memory stays committed while the
//   daemon then sits idle: 16 MB of an idle RSS of ~82 MB. V8 reads
//   --semi-space-growth-factor each time it considers growing, so setting it at run time works.
// - No optimizing (TurboFan) or baseline (Sparkplug) compilation: code that runs only at start
//   (schema building, module bodies) gains nothing from it, and compiling it pages in ~5 MB of
//   the node binary's compiler code that an idle daemon never needs.
// Measured in README, Performance: memory. Released, V8 behaves as by default under load
// (same CPU per message on the tcp bench). SLUICE_START_HEAP=v8 leaves V8's defaults alone.

import v8 from 'node:v8';

/** V8's default --semi-space-growth-factor. */
const V8_DEFAULT_GROWTH_FACTOR = 2;

let held = false;

/** A user who set one of these flags keeps it: releasing would overwrite it with V8's default. */
const OWN_FLAG = /^--(no-)?(opt|turbofan|sparkplug|semi-space-growth-factor)(=|$)/;

export function holdStartupHeap(): void {
  if (held || process.env.SLUICE_START_HEAP === 'v8') return;
  if ([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => OWN_FLAG.test(a.replace(/_/g, '-')))) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-opt');
  v8.setFlagsFromString('--no-sparkplug');
  held = true;
}

export function releaseStartupHeap(): void {
  if (!held) return;
  v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  v8.setFlagsFromString('--opt');
  v8.setFlagsFromString('--sparkplug');
  held = false;
}
