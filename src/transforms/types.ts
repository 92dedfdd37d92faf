// The contract every transform implements, and what the framework hands it.

import type { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import type { Metrics } from '../metrics/registry.js';

export interface Transform {
  /**
   * True when apply() changes the event: the path's chain then hands it a private copy first
   * (copy on write), so other paths' destinations keep the event as received.
   */
  readonly writes: boolean;
  /** The event to pass on (the same object, changed in place when `writes`), or null to drop it. */
  apply(ev: LogEvent): LogEvent | null;
}

export interface TransformContext {
  name: string;
  metrics: Metrics;
}

export interface TransformKind {
  type: string;
  description: string;
  schema: z.ZodType<{ type: string }>;
  build(config: unknown, ctx: TransformContext): Transform;
}
