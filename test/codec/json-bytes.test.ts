// JSON from received bytes: what it writes is byte for byte JSON.stringify of the decoded value, or it writes nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { writePlainJsonString, writeStructuredDataJson } from '../../src/codec/json-bytes.js';
import { parseStructuredData, scanStructuredData } from '../../src/codec/structured-data.js';

/** Writes b into a writer that already holds a prefix, as encoders call it; the text written, or null. */
function written(f: (w: ByteWriter, b: Buffer, s: number, e: number) => boolean, text: string): string | null {
  // Padding around the value: offsets into a larger buffer, and bytes after `end` that must not be read.
  const b = Buffer.concat([Buffer.from('xx'), Buffer.from(text, 'utf8'), Buffer.from('="]')]);
  const w = new ByteWriter(4);
  w.byte(0x40);
  const ok = f(w, b, 2, b.length - 3);
  const out = w.buf.toString('utf8', 1, w.pos);
  if (!ok) { assert.equal(w.pos, 1, `nothing written for ${JSON.stringify(text)}`); return null; }
  return out;
}

test('plain strings are copied as JSON.stringify writes them; anything needing an escape is left alone', () => {
  for (const s of ['', 'a', 'host-01.example', '2026-12-02T08:00:00.123456+01:00', 'x'.repeat(15), 'y'.repeat(16), 'z'.repeat(203), '~!#$%&()*+,-./:;<=>?@[]^_`{|}']) {
    assert.equal(written(writePlainJsonString, s), JSON.stringify(s), s);
  }
  for (const s of ['quote"here', 'back\\slash', 'tab\there', 'nul\0', 'é', 'long enough to take the word path " then', 'a'.repeat(40) + '\x7f\x80']) {
    const out = written(writePlainJsonString, s);
    // DEL (0x7f) needs no escape in JSON: only that one may be copied.
    if (out !== null) assert.equal(out, JSON.stringify(s), s);
    else assert.ok(/["\\\x00-\x1f\x80-\uffff]/.test(s), s);
  }
});

const SD_TAKEN = [
  '[id]',
  '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]',
  '[a x="1"][b y="2" z=""]',
  '[origin ip="192.0.2.1" software="sluice"][meta sequenceId="7"]',
  '[a b="with space ] and bracket"]',
];

const SD_LEFT = [
  '[a x="1"][a y="2"]', // a repeated id merges into one object
  '[a x="1" x="2"]', // a repeated name is an array
  '[a x="esc\\"aped"]',
  '[a x="\\\\"]',
  '[a x="é"]',
  '[1 x="y"]', // array-index keys come first in an object
  '[a 0="y"]',
  '[__proto__ x="y"]',
  '[a x=unquoted]',
  '[a x= "spaced"]',
];

test('structured data: the plain form is written as the JSON of parseStructuredData, anything else left to it', () => {
  for (const sd of SD_TAKEN) {
    const b = Buffer.from(sd);
    assert.equal(scanStructuredData(b, 0, b.length, false), b.length, sd);
    assert.equal(written(writeStructuredDataJson, sd), JSON.stringify(parseStructuredData(b, 0, b.length)), sd);
  }
  for (const sd of SD_LEFT) assert.equal(written(writeStructuredDataJson, sd), null, sd);
});

test('structured data: random element lists give either JSON.stringify of the parse or nothing', () => {
  const parts = ['[', ']', ' ', '=', '"', '\\', 'a', 'b', 'id', 'x', '1', '_', 'é', '\t', '[a x="v"]', '[b]', ' y="w"'];
  let seed = 12345;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  let taken = 0;
  for (let i = 0; i < 20_000; i++) {
    let s = '';
    const n = 1 + rnd(12);
    for (let k = 0; k < n; k++) s += parts[rnd(parts.length)];
    const b = Buffer.from(s);
    for (const strict of [true, false]) {
      if (scanStructuredData(b, 0, b.length, strict) !== b.length) continue;
      const out = written(writeStructuredDataJson, s);
      if (out === null) continue;
      taken++;
      assert.equal(out, JSON.stringify(parseStructuredData(b, 0, b.length)), s);
    }
  }
  assert.ok(taken > 100, `only ${taken} inputs took the byte path`);
});
