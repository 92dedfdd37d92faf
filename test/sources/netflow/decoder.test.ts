// The NetFlow decoder alone: options templates (IPFIX and v9) as exporter metadata, enterprise
// and variable-length fields, v9 times from sysUptime, sequence gaps and exporter restarts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetflowDecoder, type DecodeProblem } from '../../../src/sources/netflow/decoder.js';

function decoder(): { d: NetflowDecoder; problems: DecodeProblem[] } {
  const problems: DecodeProblem[] = [];
  return { d: new NetflowDecoder({ maxTemplates: 100, maxWaitingBytes: 1 << 16, waitingTtlMs: 60_000 }, (p) => problems.push(p)), problems };
}

const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const set = (id: number, body: Buffer) => Buffer.concat([u16(id), u16(4 + body.length), body]);
const ipfix = (seq: number, ...sets: Buffer[]) => {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(16 + body.length), u32(1_700_000_000), u32(seq), u32(9), body]);
};
const v9 = (seq: number, uptime: number, ...sets: Buffer[]) => Buffer.concat([u16(9), u16(sets.length), u32(uptime), u32(1_700_000_000), u32(seq), u32(3), ...sets]);

describe('netflow decoder', () => {
  test('IPFIX options records are exporter metadata added to flows; enterprise and variable-length fields', () => {
    const { d, problems } = decoder();
    // Options template 400: scope ingressInterface, then interfaceName (variable) and samplingInterval.
    const opts = set(3, Buffer.concat([u16(400), u16(3), u16(1), u16(10), u16(4), u16(82), u16(65535), u16(34), u16(4)]));
    const optData = set(400, Buffer.concat([u32(5), Buffer.from([4]), Buffer.from('eth0'), u32(100)]));
    // Flow template 300: ingressInterface, octetDeltaCount, and an enterprise field (PEN 29305, id 1, 2 bytes).
    const tpl = set(2, Buffer.concat([u16(300), u16(3), u16(10), u16(4), u16(1), u16(4), u16(0x8001), u16(2), u32(29305)]));
    const flow = set(300, Buffer.concat([u32(5), u32(1500), u16(7)]));
    assert.deepEqual(d.decode(ipfix(0, opts, optData), '192.0.2.1:4739', 0), [], 'options records are not flows');
    const flows = d.decode(ipfix(1, tpl, flow), '192.0.2.1:4739', 0);
    assert.equal(flows.length, 1);
    assert.equal(flows[0]!.ingressInterface, 5);
    assert.equal(flows[0]!.ingressInterfaceName, 'eth0');
    assert.equal(flows[0]!.samplingInterval, 100);
    assert.equal(flows[0]!.octetDeltaCount, 1500);
    assert.equal(flows[0]!.e29305_1, 7);
    assert.equal(problems.length, 0);
    // Another exporter (other port) does not share the templates.
    assert.deepEqual(d.decode(ipfix(0, flow), '192.0.2.1:4740', 0), []);
    assert.deepEqual(problems.map((p) => p.type), ['unknown_template']);
  });

  test('v9: options template, times from sysUptime, sequence gap and restart', () => {
    const { d, problems } = decoder();
    const opts = set(1, Buffer.concat([u16(500), u16(4), u16(4), u16(2), u16(4), u16(34), u16(4)]));
    const optData = set(500, Buffer.concat([u32(1), u32(64)]));
    const tpl = set(0, Buffer.concat([u16(256), u16(4), u16(8), u16(4), u16(22), u16(4), u16(21), u16(4), u16(2), u16(4)]));
    const data = set(256, Buffer.concat([Buffer.from([10, 0, 0, 1]), u32(90_000), u32(95_000), u32(12)]));
    assert.deepEqual(d.decode(v9(0, 100_000, opts, optData), '198.51.100.1:2055', 0), []);
    const [f] = d.decode(v9(1, 100_000, tpl, data), '198.51.100.1:2055', 0);
    assert.equal(f!.sourceIPv4Address, '10.0.0.1');
    assert.equal(f!.flowStartMilliseconds, 1_700_000_000_000 - 10_000);
    assert.equal(f!.flowEndMilliseconds, 1_700_000_000_000 - 5_000);
    assert.equal(f!.flowStartSysUpTime, undefined);
    assert.equal(f!.samplingInterval, 64);
    assert.equal(f!.packetDeltaCount, 12);
    d.decode(v9(5, 101_000, data), '198.51.100.1:2055', 0);
    assert.equal(problems.filter((p) => p.type === 'sequence_gap').length, 1);
    d.decode(v9(0, 10, data), '198.51.100.1:2055', 0);
    assert.equal(problems.filter((p) => p.type === 'exporter_restart').length, 1);
  });

  test('template with a field list running past its set, zero-length records and template ids below 256 are malformed', () => {
    const { d, problems } = decoder();
    d.decode(ipfix(0, set(2, Buffer.concat([u16(300), u16(5), u16(8), u16(4)]))), 'x:1', 0);
    d.decode(ipfix(0, set(2, Buffer.concat([u16(301), u16(1), u16(8), u16(0)]))), 'x:1', 0);
    d.decode(ipfix(0, set(2, Buffer.concat([u16(7), u16(1), u16(8), u16(4)]))), 'x:1', 0);
    assert.deepEqual(problems.map((p) => p.type), ['malformed', 'malformed', 'malformed']);
    assert.equal(d.templateCount, 0);
  });
});
