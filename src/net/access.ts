// Who may connect: CIDR allow-lists and connection limits per peer and in total.

import net from 'node:net';
import { SluiceError } from '../errors.js';

/** Strips the IPv4-mapped IPv6 prefix so 10.0.0.1 matches whether it came over v4 or v6. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export class AllowList {
  private readonly list: net.BlockList | null;

  /** Empty `cidrs` allows everyone. Throws a config error naming a malformed entry. */
  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) { this.list = null; return; }
    const list = new net.BlockList();
    for (const c of cidrs) {
      const [addr, bitsText] = c.split('/');
      const type = net.isIPv4(addr ?? '') ? 'ipv4' : net.isIPv6(addr ?? '') ? 'ipv6' : null;
      const bits = bitsText === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bitsText);
      if (type === null || !Number.isInteger(bits) || bits < 0 || bits > (type === 'ipv4' ? 32 : 128)) {
        throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `allow: ${JSON.stringify(c)} is not an address or CIDR block (e.g. 10.0.0.0/8, ::1/128)`);
      }
      list.addSubnet(addr!, bits, type);
    }
    this.list = list;
  }

  allows(address: string | undefined): boolean {
    if (this.list === null) return true;
    if (!address) return false;
    const a = normalizeAddress(address);
    return this.list.check(a, net.isIPv4(a) ? 'ipv4' : 'ipv6');
  }
}

/** Counts open connections per peer address and in total, against limits. */
export class ConnectionLimits {
  private readonly perPeer = new Map<string, number>();
  total = 0;

  constructor(private readonly maxTotal: number, private readonly maxPerPeer: number) {}

  /** Reserves a slot, or returns why not ('max_connections' / 'max_connections_per_peer'). */
  acquire(peer: string): null | 'max_connections' | 'max_connections_per_peer' {
    if (this.total >= this.maxTotal) return 'max_connections';
    const n = this.perPeer.get(peer) ?? 0;
    if (n >= this.maxPerPeer) return 'max_connections_per_peer';
    this.perPeer.set(peer, n + 1);
    this.total++;
    return null;
  }

  release(peer: string): void {
    const n = this.perPeer.get(peer) ?? 0;
    if (n <= 1) this.perPeer.delete(peer);
    else this.perPeer.set(peer, n - 1);
    this.total--;
  }
}
