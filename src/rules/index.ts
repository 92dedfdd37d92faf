// The rule set registry: every rule set type sluice knows, with its schema and builder.

import { firstSeenKind } from './first-seen/index.js';
import { rateSpikeKind } from './rate-spike/index.js';
import { sigmaRuleSetKind } from './sigma/index.js';
import { thresholdKind } from './threshold/index.js';
import type { RuleSetKind } from './types.js';

export type { RuleProblem, RuleSet, RuleSetContext, RuleSetKind } from './types.js';

export const RULE_SETS: RuleSetKind[] = [sigmaRuleSetKind, thresholdKind, firstSeenKind, rateSpikeKind];

export function ruleSetKind(type: string): RuleSetKind | undefined {
  return RULE_SETS.find((k) => k.type === type);
}
