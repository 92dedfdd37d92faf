// The optional recvmmsg addon (native/udp_recv.c, built by `npm install` with node-gyp).

import { createRequire } from 'node:module';

export interface UdpAddon {
  open(family: 4 | 6, host: string, port: number, receiveBuffer: number): { handle: object; port: number; receiveBuffer: number };
  /** Appends queued datagrams to data/index/addrs (see native/udp_recv.c); waits up to waitMs for the first. */
  receive(handle: object, data: Uint8Array, used: number, index: Int32Array, count: number, addrs: Int32Array, waitMs: number): number;
  addressText(family: 4 | 6, addrs: Int32Array, at: number): string;
  close(handle: object): void;
}

/** Bytes the addon needs free in the data buffer before it reads: one datagram of any size. */
export const ADDON_SLOT_BYTES = 65536;

let loaded: { addon: UdpAddon | null; error: string | null } | null = null;

/** The addon, or null and why not (not built, or not Linux); loaded once per thread. */
export function loadUdpAddon(): { addon: UdpAddon | null; error: string | null } {
  if (loaded === null) {
    try {
      // dist/src/sources/syslog/ -> the package root's build/
      const addon = createRequire(import.meta.url)('../../../../build/Release/sluice_udp.node') as UdpAddon;
      loaded = { addon, error: null };
    } catch (e) {
      loaded = { addon: null, error: (e as Error).message.split('\n')[0]! };
    }
  }
  return loaded;
}
