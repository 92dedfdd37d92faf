// CIDR networks for netmask(): parsing of the argument and a memoised address test.

import { BlockList, isIP } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32` or a lone address; null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const bits = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : version === 4 ? dottedMaskPrefix(bits) : -1;
  if (prefix < 0 || prefix > max) return null;
  return { address, prefix, family };
}

// syslog-ng's older netmask(ADDR/MASK) form; a mask with holes cannot be a prefix.
function dottedMaskPrefix(mask: string): number {
  if (isIP(mask) !== 4) return -1;
  const n = mask.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  for (let prefix = 0; prefix <= 32; prefix++) {
    const expect = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (n === expect) return prefix;
  }
  return -1;
}

// BlockList.check builds a SocketAddress per call, and a filter must not allocate per
// event. Peers repeat, so results are kept per address string; the cap bounds memory when
// a flood comes from many addresses (the memo is simply dropped and refilled).
const MEMO_LIMIT = 4096;

/** A test of an address string against the networks; non-IP strings (socket paths) never match. */
export function networkTest(cidrs: readonly Cidr[]): (address: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  const memo = new Map<string, boolean>();
  return (address) => {
    const known = memo.get(address);
    if (known !== undefined) return known;
    const version = isIP(address);
    const hit = version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(address, hit);
    return hit;
  };
}
