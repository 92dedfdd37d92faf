// Writer jobs in the layout the store hands its writer threads (partition-writer.ts), for tests
// that drive the writers without a store in front.

import crypto from 'node:crypto';
import type { WriteJob } from '../../../src/store/sqlite/partition-writer.js';
import { recordBytes, RecordWriter } from '../../../src/store/sqlite/record.js';

/**
 * One row per seq on `day` (10:00 UTC + seq ms), message `${word} number${seq - 1}` (or what
 * `message` gives: null for an event without one), hashed as TestSealer leaves.
 */
export function writeJob(day: string, seqs: number[], word = 'event', message?: (seq: number) => string | null): WriteJob {
  const t = Date.parse(`${day}T10:00:00Z`);
  const w = new RecordWriter(1 << 16);
  for (const seq of seqs) {
    const text = message ? message(seq) : `${word} number${seq - 1}`;
    const rec = recordBytes({
      seq, time: t + seq, received: t + seq, host: `host${seq % 3}`, app: 'app', procid: null, msgid: null, facility: 1, severity: 6,
      source: 'net', transport: 'tcp', peer: '127.0.0.1:1', raw: null, event: JSON.stringify({ message: text }),
    });
    w.u32(rec.length);
    w.bytes(rec);
    if (text === null) w.u32(0xffffffff);
    else {
      const m = Buffer.from(text);
      w.u32(m.length);
      w.bytes(m);
    }
    w.ensure(33);
    w.buf[w.pos++] = 32;
    w.bytes(crypto.createHash('sha256').update(Buffer.of(0)).update(rec).digest());
  }
  return { day, buf: Buffer.from(w.buf.subarray(0, w.pos)), count: seqs.length };
}
