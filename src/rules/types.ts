// The contract every rule set implements: events in, alerts (events) out.

import type { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import type { Metrics } from '../metrics/registry.js';

export interface RuleSet {
  /** Evaluates a batch; returns the alerts it caused (possibly none), in order. */
  process(events: LogEvent[]): LogEvent[];
  /** How many rules it runs (for logs and `sluice validate`). */
  readonly ruleCount: number;
}

export interface RuleSetContext {
  name: string;
  metrics: Metrics;
}

/** A problem in a rule file, named by file, line and column. */
export interface RuleProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface RuleSetKind {
  type: string;
  description: string;
  schema: z.ZodType<{ type: string }>;
  /**
   * Reads and compiles what the config points at (rule files, relative to the config file's
   * directory). Problems are returned, not thrown, so validate reports every one.
   */
  compile(config: unknown, configDir: string): { compiled: unknown; problems: RuleProblem[] };
  build(compiled: unknown, ctx: RuleSetContext): RuleSet;
}
