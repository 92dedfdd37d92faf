// Where `sluice verify` finds the store's SealSource: the store registers it at import time,
// so the CLI does not depend on a backend it may not be built with.

import type { OpenStoreSealSource } from './types.js';

let opener: OpenStoreSealSource | null = null;

export function registerStoreSealSource(open: OpenStoreSealSource): void {
  opener = open;
}

export function storeSealSourceOpener(): OpenStoreSealSource | null {
  return opener;
}
