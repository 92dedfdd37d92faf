// A pcap file of TCP and UDP flows, written by the test, for softflowd -r.

import fs from 'node:fs';

export interface TestFlow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: 6 | 17;
  packets: number;
  /** IP payload bytes per packet beyond the headers. */
  payload: number;
}

function ip(a: string): number[] {
  return a.split('.').map(Number);
}

function checksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) + (b[i + 1] ?? 0);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** IPv4 total length of one packet of the flow (what NetFlow counts as its bytes). */
export function packetBytes(f: TestFlow): number {
  return 20 + (f.proto === 6 ? 20 : 8) + f.payload;
}

export function writePcap(file: string, flows: TestFlow[], startSec = 1_700_000_000): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20); // Ethernet
  parts.push(gh);
  let t = 0;
  // Packets of all flows interleaved, 1 ms apart.
  const maxPackets = Math.max(...flows.map((f) => f.packets));
  for (let n = 0; n < maxPackets; n++) {
    for (const f of flows) {
      if (n >= f.packets) continue;
      const l4len = f.proto === 6 ? 20 : 8;
      const total = 20 + l4len + f.payload;
      const pkt = Buffer.alloc(14 + total);
      pkt.writeUInt16BE(0x0800, 12);
      const iph = pkt.subarray(14, 34);
      iph[0] = 0x45;
      iph.writeUInt16BE(total, 2);
      iph.writeUInt16BE(n & 0xffff, 4);
      iph[8] = 64;
      iph[9] = f.proto;
      Buffer.from(ip(f.src)).copy(iph, 12);
      Buffer.from(ip(f.dst)).copy(iph, 16);
      iph.writeUInt16BE(checksum(iph), 10);
      const l4 = pkt.subarray(34);
      l4.writeUInt16BE(f.sport, 0);
      l4.writeUInt16BE(f.dport, 2);
      if (f.proto === 6) {
        l4.writeUInt32BE(1000 + n, 4);
        l4[12] = 0x50;
        l4[13] = n === 0 ? 0x02 : 0x10; // SYN, then ACK
        l4.writeUInt16BE(65535, 14);
      } else {
        l4.writeUInt16BE(8 + f.payload, 4);
      }
      const rh = Buffer.alloc(16);
      const us = startSec * 1_000_000 + t * 1000;
      rh.writeUInt32LE(Math.floor(us / 1_000_000), 0);
      rh.writeUInt32LE(us % 1_000_000, 4);
      rh.writeUInt32LE(pkt.length, 8);
      rh.writeUInt32LE(pkt.length, 12);
      parts.push(rh, pkt);
      t++;
    }
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}
