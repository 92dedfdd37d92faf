// The contract every source implements, and what the framework hands it.

import type { Metrics } from '../metrics/registry.js';
import type { Router } from '../pipeline/router.js';

export interface SourceContext {
  name: string;
  router: Router;
  metrics: Metrics;
  /** Directory that relative file names in the config are resolved against. */
  baseDir: string;
  /** The config's data_dir (state such as a broker source's dead letters). */
  dataDir?: string;
}

export interface Source {
  /** Binds listeners / opens inputs; rejects with a SluiceError naming the address on failure. */
  start(): Promise<void>;
  /** Stops accepting, hands every event already read to the router, then closes. */
  stop(): Promise<void>;
  /** Bound addresses as URLs (with the real port when 0 was asked for). */
  addresses(): string[];
}
