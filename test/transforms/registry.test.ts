// The transform and rule set registries: each kind is described, its keys documented, a minimal config validates.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { loadConfigText } from '../../src/config/load.js';
import { RULE_SETS } from '../../src/rules/index.js';
import { TRANSFORMS } from '../../src/transforms/index.js';
import { tempDir } from '../helpers/wait.js';

const TRANSFORM_EXAMPLES: Record<string, string> = {
  parse_json: '{ type: parse_json }',
  parse_kv: '{ type: parse_kv }',
  parse_regex: '{ type: parse_regex, pattern: "from (?<src_ip>\\\\S+)" }',
  set: '{ type: set, fields: { where: "${HOST}" } }',
  rename: '{ type: rename, fields: { a: b } }',
  remove: '{ type: remove, fields: [a] }',
  redact: '{ type: redact }',
  throttle: '{ type: throttle, limit: 10 }',
  sample: '{ type: sample, rate: 10 }',
};
const RULE_EXAMPLES: Record<string, string> = {
  sigma: '{ type: sigma, paths: [r.yml] }',
  threshold: '{ type: threshold, title: t, count: 5, window: 1m }',
  first_seen: '{ type: first_seen, title: t, value: "${fields.port}" }',
  rate_spike: '{ type: rate_spike, title: t }',
};

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  let s: unknown = schema;
  for (let i = 0; i < 5; i++) {
    if (s instanceof z.ZodObject) return s.shape as Record<string, z.ZodType>;
    if (s instanceof z.ZodPipe) s = s.in;
    else break;
  }
  const inner = (schema as unknown as { def?: { in?: z.ZodType; schema?: z.ZodType } }).def;
  return inner?.in ? shapeOf(inner.in) : {};
}

describe('transform and rule set registries', () => {
  const dir = tempDir('reg');
  fs.writeFileSync(path.join(dir, 'r.yml'), 'title: t\ndetection:\n  k: [x]\n  condition: k\n');
  for (const [section, list, examples] of [['transforms', TRANSFORMS, TRANSFORM_EXAMPLES], ['rules', RULE_SETS, RULE_EXAMPLES]] as const) {
    for (const k of list) {
      test(`${section} ${k.type}: described, documented keys, minimal config validates`, () => {
        assert.ok(examples[k.type], `add a minimal ${k.type} example to this test`);
        assert.ok(k.description.length > 10);
        const undocumented = Object.entries(shapeOf(k.schema)).filter(([key, s]) => key !== 'type' && !s.description).map(([key]) => key);
        assert.deepEqual(undocumented, [], `every ${k.type} key has a description`);
        const use = section === 'transforms' ? 'log: [ { from: net, transform: it, to: out } ]' : 'log: [ { from: net, to: it }, { from: it, to: out } ]';
        loadConfigText(`sources: { net: { type: syslog, listen: ["udp://127.0.0.1:0"] } }\ndestinations: { out: { type: stdout } }\n${section}:\n  it: ${examples[k.type]}\n${use}\n`, path.join(dir, 'c.yaml'), {});
      });
    }
  }
});
