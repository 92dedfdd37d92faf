// Bad input for the collectors' decoders: random and mutated NetFlow/IPFIX datagrams and audit
// lines never throw (the daemon keeps going); problems are reported, not raised.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditAssembler } from '../../src/sources/auditd/assembler.js';
import { interpret } from '../../src/sources/auditd/interpret.js';
import { parseRecord } from '../../src/sources/auditd/record.js';
import { NetflowDecoder } from '../../src/sources/netflow/decoder.js';
import { prng } from '../helpers/prng.js';

const SEED = 16;

describe('collectors: bad input', () => {
  test('random and mutated NetFlow v5/v9/IPFIX datagrams: no exception, problems counted', () => {
    const rnd = prng(SEED);
    let problems = 0;
    const d = new NetflowDecoder({ maxTemplates: 50, maxWaitingBytes: 64 * 1024, waitingTtlMs: 1000 }, () => { problems++; });
    const templ = Buffer.from('000a00300000000000000000000000010002001c012c0005000800040001000400520001ffff00020008', 'hex');
    const seeds = [Buffer.alloc(24 + 48, 0), templ, Buffer.from('0009000100000000000000000000000000000001', 'hex')];
    seeds[0]!.writeUInt16BE(5, 0);
    seeds[0]!.writeUInt16BE(1, 2);
    for (let i = 0; i < 5000; i++) {
      let b: Buffer;
      if (i % 2) {
        b = Buffer.from(seeds[i % seeds.length]!);
        for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.3) b = b.subarray(0, Math.floor(rnd() * b.length));
      } else {
        b = Buffer.alloc(Math.floor(rnd() * 200));
        for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
        if (b.length >= 2) b.writeUInt16BE([5, 9, 10][i % 3]!, 0);
      }
      assert.doesNotThrow(() => d.decode(b, `10.0.0.${i % 4}:2055`, i), `seed ${SEED} datagram ${i}: ${b.toString('hex')}`);
    }
    assert.ok(problems > 1000);
  });

  test('random and mutated audit lines: no exception; forged argument numbers stay bounded', () => {
    const rnd = prng(SEED);
    const base = 'type=EXECVE msg=audit(1700000000.123:100): argc=3 a0="bash" a1=2D63 a2_len=4 a2[0]=6162 a2[1]=6364\x1dARCH=x86_64';
    const a = new AuditAssembler<null>({ timeoutMs: 10, maxRecords: 8, maxBytes: 4096, remember: 16, maxOpen: 32 }, (e) => {
      if (e.records.length > 0) interpret(e.records, e.reason);
    });
    const chars = 'type=msg=audit().:0123456789ABCDEF "\'\x1d[]_aSYCALEOEXV ';
    for (let i = 0; i < 5000; i++) {
      let line = base;
      if (i % 2) {
        const arr = [...line];
        for (let k = 0; k < 1 + Math.floor(rnd() * 8); k++) arr[Math.floor(rnd() * arr.length)] = chars[Math.floor(rnd() * chars.length)]!;
        line = arr.join('');
      } else {
        line = `type=${['SYSCALL', 'EXECVE', 'PATH', 'EOE', 'USER_CMD'][i % 5]} msg=audit(1700000000.${i % 7}:${i % 11}): ` +
          Array.from({ length: Math.floor(rnd() * 10) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
      }
      assert.doesNotThrow(() => {
        const r = parseRecord(line);
        if (r) a.push(r, null, i);
        a.tick(i);
      }, `seed ${SEED} line ${i}: ${JSON.stringify(line)}`);
    }
    const forged = parseRecord('type=EXECVE msg=audit(1.000:1): argc=2 a0="x" a999999999="y"')!;
    const it = interpret([forged], 'eoe');
    assert.ok((it.fields.execve as { args: string[] }).args.length <= 2 + 1024);
  });
});
