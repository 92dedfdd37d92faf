// Builds a config's transforms and rule sets, and the per-path parts the router needs from them.

import type { LogPathConfig, SluiceConfig } from '../config/load.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { RuleSet } from '../rules/types.js';
import { TransformChain } from '../transforms/chain.js';
import type { Transform } from '../transforms/types.js';
import type { RuleSink } from './router.js';

export interface Analysis {
  ruleSets: Map<string, RuleSet>;
  /** The transform chain and rule sets of one log path (empty when it has none). */
  pathParts(p: LogPathConfig): { transform?: TransformChain; rules?: RuleSink[] };
}

export function buildAnalysis(config: SluiceConfig, metrics: Metrics): Analysis {
  // One instance per named transform: a throttle shared by two paths shares its counts.
  const transforms = new Map<string, Transform>();
  for (const [name, { kind, config: tc }] of config.transforms) transforms.set(name, kind.build(tc, { name, metrics }));
  const ruleSets = new Map<string, RuleSet>();
  const sinks = new Map<string, RuleSink>();
  for (const [name, { kind, compiled }] of config.rules) {
    const rs = kind.build(compiled, { name, metrics });
    ruleSets.set(name, rs);
    sinks.set(name, { name, process: (events) => rs.process(events) });
    log('info', `rules ${name}`, 'loaded', { type: kind.type, rules: rs.ruleCount });
  }
  return {
    ruleSets,
    pathParts(p) {
      const parts: { transform?: TransformChain; rules?: RuleSink[] } = {};
      if (p.transform.length) parts.transform = new TransformChain(p.transform.map((t) => transforms.get(t)!));
      const rules = p.to.filter((d) => sinks.has(d)).map((d) => sinks.get(d)!);
      if (rules.length) parts.rules = rules;
      return parts;
    },
  };
}
