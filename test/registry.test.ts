// The component registries: every source and destination is described, documented and validates.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { loadConfigText } from '../src/config/load.js';
import { DESTINATIONS } from '../src/destinations/index.js';
import { SOURCES } from '../src/sources/index.js';
import { REPO } from './helpers/daemon.js';

// A minimal config per component type. A new type without one here fails the first test.
const SOURCE_EXAMPLES: Record<string, string> = {
  syslog: '{ type: syslog, listen: ["udp://127.0.0.1:0", "tcp://127.0.0.1:0"] }',
  relp: '{ type: relp, listen: ["relp://127.0.0.1:0"] }',
  http: '{ type: http, listen: ["http://127.0.0.1:0"] }',
  file: '{ type: file, include: ["/var/log/app.log"] }',
  netflow: '{ type: netflow, listen: ["udp://127.0.0.1:0"] }',
  auditd: '{ type: auditd }',
  journald: '{ type: journald }',
  s3: '{ type: s3, bucket: trail, prefix: "AWSLogs/" }',
  nats: '{ type: nats, consumer: aggregators }',
  amqp: '{ type: amqp, queue: aggregators }',
};
const DESTINATION_EXAMPLES: Record<string, string> = {
  file: '{ type: file, path: "/tmp/x.log" }',
  stdout: '{ type: stdout }',
  syslog: '{ type: syslog, url: "tcp://127.0.0.1:6514" }',
  http: '{ type: http, url: "https://logs.example.net/bulk/t/tag/x/" }',
  relp: '{ type: relp, url: "relp://127.0.0.1:2514" }',
  store: '{ type: store }',
  nats: '{ type: nats }',
  amqp: '{ type: amqp }',
  postgres: '{ type: postgres, url: "postgres://sluice@127.0.0.1:5432/logs" }',
};

/** The keys of an object schema, through optional/default wrappers. */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  let s: unknown = schema;
  for (let i = 0; i < 5; i++) {
    if (s instanceof z.ZodObject) return s.shape as Record<string, z.ZodType>;
    if (s instanceof z.ZodPipe) s = s.in;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault) s = s.unwrap();
    else break;
  }
  // Refined object schemas keep the object inside.
  const inner = (schema as unknown as { def?: { in?: z.ZodType; schema?: z.ZodType } }).def;
  if (inner?.in) return shapeOf(inner.in);
  return {};
}

const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

describe('registries', () => {
  const kinds = [
    ...SOURCES.map((k) => ({ section: 'sources', examples: SOURCE_EXAMPLES, k })),
    ...DESTINATIONS.map((k) => ({ section: 'destinations', examples: DESTINATION_EXAMPLES, k })),
  ];

  test('types are unique within each registry', () => {
    assert.equal(new Set(SOURCES.map((k) => k.type)).size, SOURCES.length);
    assert.equal(new Set(DESTINATIONS.map((k) => k.type)).size, DESTINATIONS.length);
  });

  for (const { section, examples, k } of kinds) {
    test(`${section} ${k.type}: has an example here, a description, described fields, and README docs`, () => {
      assert.ok(examples[k.type], `add a minimal ${k.type} example to this test`);
      assert.ok(k.description.length > 20, 'a description a user can read');
      const undocumented = Object.entries(shapeOf(k.schema)).filter(([key, s]) => key !== 'type' && !s.description).map(([key]) => key);
      assert.deepEqual(undocumented, [], `every ${k.type} config key has a description`);
      assert.match(readme, new RegExp(`\\*\\*${k.type}\\*\\*`), `README documents the ${k.type} ${section.slice(0, -1)}`);
    });

    test(`${section} ${k.type}: its minimal config validates with the framework's defaults`, () => {
      const other = section === 'sources'
        ? `destinations: { out: { type: stdout } }\nlog: [ { from: it, to: out } ]`
        : `sources: { in: { type: syslog, listen: ["udp://127.0.0.1:0"] } }\nlog: [ { from: in, to: it } ]`;
      const cfg = loadConfigText(`${section}:\n  it: ${examples[k.type]}\n${other}\n`, 'registry.yaml', {});
      if (section === 'destinations') {
        const dc = cfg.destinations.get('it')!.config;
        assert.equal(dc.buffer.type, 'memory');
        assert.equal(dc.buffer.when_full, 'block');
        assert.ok(dc.retry.initial > 0);
      }
    });
  }
});
