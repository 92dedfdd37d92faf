// The optional sealing addon (native/seal_hash.c, built by `npm install` with node-gyp).

import { createRequire } from 'node:module';

export interface SealAddon {
  /**
   * Writes leaf i = SHA-256(0x00 ‖ u64be(firstSeq + i) ‖ buf[starts[i], ends[i])) at buf[hashAt[i]]
   * and returns the frontier (32 bytes per subtree, largest first) after appending the leaves
   * to the tree of `size` leaves whose frontier is given.
   */
  seal(buf: Buffer, starts: Uint32Array, ends: Uint32Array, hashAt: Uint32Array, count: number, firstSeq: number, frontier: Buffer, size: number): Buffer;
}

let loaded: SealAddon | null | undefined;

/** The addon, or null when it was not built (the JavaScript path in merkle.ts does the same work). */
export function sealAddon(): SealAddon | null {
  if (loaded === undefined) {
    if (process.env.SLUICE_SEAL_ADDON === '0') return (loaded = null);
    try {
      // dist/src/store/seal/ -> the package root's build/
      loaded = createRequire(import.meta.url)('../../../../build/Release/sluice_seal.node') as SealAddon;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
