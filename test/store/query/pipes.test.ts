// stats / top / limit rows over real events, in the AggregateRow shape the stores return.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogEvent, type EventJson, type EventSource } from '../../../src/event/log-event.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { applyPipes, runQuery } from '../../../src/store/query/pipes.js';

const SRC: EventSource = { name: 'net', transport: 'udp', address: '127.0.0.1', port: 514, tlsPeer: null };

function ev(host: string | null, app: string, message: string, fields: Record<string, unknown> = {}, severity = 6): EventJson {
  return LogEvent.fromValues(SRC, Date.UTC(2026, 11, 1), { hostname: host, appname: app, message, severity, facility: 1, fields }).toJSON();
}

// Newest first, as a store hands them over.
const EVENTS = [
  ev('web-01', 'nginx', 'GET / 200', { user: 'alice', bytes: 10 }),
  ev('web-02', 'nginx', 'GET /x 404', { user: 'bob', bytes: 20 }, 4),
  ev('web-01', 'sshd', 'Failed password', { user: 'alice' }, 3),
  ev('db-01', 'postgres', 'checkpoint', { bytes: 10 }),
  ev('web-01', 'nginx', 'GET /y 200', { user: 'carol', bytes: 10 }),
  ev(null, 'kernel', 'oom killer', { tags: ['a', 'b'], ok: false }, 2),
  ev('web-02', 'nginx', 'GET /z 500', { user: 'alice', bytes: '10' }, 3),
];

function rows(q: string) {
  const r = runQuery(parseQuery(q), EVENTS);
  assert.equal(r.kind, 'rows', q);
  return r.kind === 'rows' ? r.rows : [];
}

describe('stats count() by', () => {
  it('one row per combination, keyed by field names plus count, count descending then values', () => {
    assert.deepEqual(rows('| stats count() by (host)'), [
      { host: 'web-01', count: 3 }, { host: 'web-02', count: 2 }, { host: 'db-01', count: 1 }, { host: null, count: 1 },
    ]);
    assert.deepEqual(rows('nginx OR get | stats count() by (host, app)'), [
      { host: 'web-01', app: 'nginx', count: 2 }, { host: 'web-02', app: 'nginx', count: 2 },
    ]);
    assert.deepEqual(rows('| stats count() by (fields.user)'), [
      { 'fields.user': 'alice', count: 3 }, { 'fields.user': null, count: 2 },
      { 'fields.user': 'bob', count: 1 }, { 'fields.user': 'carol', count: 1 },
    ].sort((a, b) => b.count - a.count || (a['fields.user'] === null ? 1 : b['fields.user'] === null ? -1 : a['fields.user'] < b['fields.user'] ? -1 : 1)));
  });

  it('numbers and numeric strings are different groups; numbers sort before strings; arrays and booleans as text', () => {
    assert.deepEqual(rows('| stats count() by (fields.bytes)'), [
      { 'fields.bytes': 10, count: 3 }, { 'fields.bytes': null, count: 2 }, { 'fields.bytes': 20, count: 1 }, { 'fields.bytes': '10', count: 1 },
    ]);
    assert.deepEqual(rows('app:kernel | stats count() by (fields.tags, fields.ok)'), [{ 'fields.tags': '["a","b"]', 'fields.ok': 'false', count: 1 }]);
  });

  it('without by: one row with the count, 0 when nothing matched', () => {
    assert.deepEqual(rows('nginx | stats count()'), [{ count: 0 }], 'nginx is the app, not a message word');
    assert.deepEqual(rows('app:nginx | stats count()'), [{ count: 4 }]);
    assert.deepEqual(rows('app:nobody | stats count() by (host)'), []);
  });

  it('severity by code, as numbers', () => {
    assert.deepEqual(rows('severity:<=warning | stats count() by (severity)'), [
      { severity: 3, count: 2 }, { severity: 2, count: 1 }, { severity: 4, count: 1 },
    ]);
  });
});

describe('top and limit', () => {
  it('top N field: most frequent non-null values, ties by value', () => {
    assert.deepEqual(rows('| top 2 host'), [{ host: 'web-01', count: 3 }, { host: 'web-02', count: 2 }]);
    assert.deepEqual(rows('| top 10 host'), [{ host: 'web-01', count: 3 }, { host: 'web-02', count: 2 }, { host: 'db-01', count: 1 }]);
    assert.deepEqual(rows('| top app'), [
      { app: 'nginx', count: 4 }, { app: 'kernel', count: 1 }, { app: 'postgres', count: 1 }, { app: 'sshd', count: 1 },
    ]);
  });

  it('limit after stats keeps rows; alone it keeps the first events in the given order', () => {
    assert.deepEqual(rows('| stats count() by (app) | limit 1'), [{ app: 'nginx', count: 4 }]);
    const r = runQuery(parseQuery('app:nginx | limit 2'), EVENTS);
    assert.equal(r.kind, 'events');
    assert.deepEqual(r.kind === 'events' ? r.events.map((e) => e.message) : [], ['GET / 200', 'GET /x 404']);
    const all = applyPipes(parseQuery('anything'), EVENTS);
    assert.equal(all.kind === 'events' ? all.events.length : -1, EVENTS.length, 'no pipes: the events as given');
  });

  it('reads its input lazily for limit', () => {
    let pulled = 0;
    function* endless(): Iterable<EventJson> {
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield EVENTS[i % EVENTS.length]!;
      }
    }
    const r = runQuery(parseQuery('| limit 3'), endless());
    assert.equal(r.kind === 'events' ? r.events.length : -1, 3);
    assert.equal(pulled, 3);
  });
});
