// The UDP socket's own thread: drains the kernel buffer and hands datagrams over in batches.
//
// A datagram the kernel cannot queue is lost for good, and the main thread pauses now and
// then (garbage collection, bursts of parsing). Reading in a worker keeps the socket drained
// through those pauses; the main thread parses at its own pace from the batches. On a busy
// host the thread also asks for a higher priority (udp_reader_nice): its work per datagram is
// small, and a datagram that waits for the CPU in a full socket buffer is dropped.
//
// Two ways to read. With the recvmmsg addon (native/udp_recv.c) the thread reads every
// READ_INTERVAL_MS while datagrams come, many per system call, and blocks in poll(2) while
// none do: it wakes per millisecond, not per datagram, and makes no object per datagram.
// Without it (not built, not Linux, a host name to resolve, or udp_reader: dgram), node:dgram
// calls back once per datagram.

import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ADDON_SLOT_BYTES, loadUdpAddon, type UdpAddon } from './udp-addon.js';

export type UdpReaderKind = 'auto' | 'recvmmsg' | 'dgram';

export interface UdpReaderConfig {
  type: 'udp4' | 'udp6';
  host: string;
  port: number;
  recvBufferSize: number;
  /** Nice value for this thread, or null to keep the process's. */
  nice: number | null;
  reader: UdpReaderKind;
  /** Bytes handed over and not yet taken by the main thread, at most; beyond, datagrams are dropped and counted. */
  maxOutstandingBytes: number;
  /** One Int32: bytes handed over and not yet taken; the main thread subtracts what it took. */
  outstanding: SharedArrayBuffer;
  /** One Int32 the main thread sets to 1 (and notifies) to close: the recvmmsg loop never yields to the event loop. */
  control: SharedArrayBuffer;
}

/**
 * One batch: datagram bytes back to back, with [offset, length, port, peer] quadruples; peer
 * indexes `peers`, so a batch from one sender carries its address once.
 */
export interface UdpBatch {
  kind: 'batch';
  data: ArrayBuffer;
  index: Int32Array;
  peers: string[];
  receivedAt: number;
  /** Datagrams dropped since the last batch because the main thread was too far behind. */
  dropped: number;
}

export type ReaderMessage =
  | UdpBatch
  | { kind: 'listening'; port: number; recvBufferSize: number; niceError: string | null; reader: 'recvmmsg' | 'dgram'; fallbackReason: string | null }
  | { kind: 'error'; message: string; code?: string; fatal: boolean };

const BATCH_BYTES = 256 * 1024;
const BATCH_DATAGRAMS = 2048;
/** A batch is handed over when full or this long after its first datagram: each hand-over costs both threads (with recvmmsg at 50,000 msg/s, 10 ms took about 20 % less CPU than 2 ms). */
const BATCH_DELAY_MS = 10;
/** recvmmsg: pause between reads while datagrams come. The 8 MiB socket buffer holds far more than a millisecond's worth. */
const READ_INTERVAL_MS = 2;
/** recvmmsg: longest wait in poll(2) while idle, i.e. how soon a close is seen. */
const IDLE_WAIT_MS = 100;

/** Sets this thread's nice value (on Linux, pid 0 is the calling thread alone); the error text if not allowed. */
function raisePriority(nice: number | null): string | null {
  if (nice === null) return null;
  try {
    os.setPriority(nice);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The batch being filled, shared by both readers. */
class BatchBuilder {
  data: Buffer;
  used = 0;
  readonly index = new Int32Array(BATCH_DATAGRAMS * 4);
  count = 0;
  dropped = 0;
  /** Date.now() of the batch's first datagram (or drop). */
  startedAt = 0;
  private peers: string[] = [];
  private readonly peerIds = new Map<string, number>();
  private readonly outstanding: Int32Array;

  constructor(private readonly port: MessagePort, private readonly cfg: UdpReaderConfig, spare: number) {
    this.data = Buffer.allocUnsafe(BATCH_BYTES + spare);
    this.outstanding = new Int32Array(cfg.outstanding);
  }

  get empty(): boolean { return this.count === 0 && this.dropped === 0; }
  get full(): boolean { return this.count === BATCH_DATAGRAMS; }
  /** The main thread is too far behind: what comes now is dropped and counted. */
  get behind(): boolean { return Atomics.load(this.outstanding, 0) >= this.cfg.maxOutstandingBytes; }

  /** Index of a peer address in this batch's peers list. */
  peer(address: string): number {
    let p = this.peerIds.get(address);
    if (p === undefined) { p = this.peers.push(address) - 1; this.peerIds.set(address, p); }
    return p;
  }

  /** Counts n datagrams the addon appended to data and index. */
  taken(n: number): void {
    const last = (this.count + n - 1) * 4;
    this.used = this.index[last]! + this.index[last + 1]!;
    this.count += n;
  }

  flush(): void {
    if (this.empty) return;
    const copy = new Uint8Array(this.used);
    copy.set(this.data.subarray(0, this.used));
    const batch: UdpBatch = { kind: 'batch', data: copy.buffer, index: this.index.slice(0, this.count * 4), peers: this.peers, receivedAt: Date.now(), dropped: this.dropped };
    this.port.postMessage(batch, [batch.data, batch.index.buffer as ArrayBuffer]);
    Atomics.add(this.outstanding, 0, this.used);
    this.used = 0;
    this.count = 0;
    this.peers = [];
    this.peerIds.clear();
    this.dropped = 0;
  }
}

function readWithDgram(cfg: UdpReaderConfig, port: MessagePort, niceError: string | null, fallbackReason: string | null): void {
  const b = new BatchBuilder(port, cfg, 0);
  let lastPeer = '';
  let peerIndex = 0;
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    b.flush();
    lastPeer = '';
  };

  const socket = dgram.createSocket({ type: cfg.type, recvBufferSize: cfg.recvBufferSize });
  socket.on('message', (msg, rinfo) => {
    if (b.behind) {
      // Reported with the next batch (an empty one is sent just for that).
      b.dropped++;
      timer ??= setTimeout(flush, BATCH_DELAY_MS);
      return;
    }
    if (b.used + msg.length > b.data.length) {
      flush();
      if (msg.length > b.data.length) b.data = Buffer.allocUnsafe(msg.length);
    }
    msg.copy(b.data, b.used);
    if (rinfo.address !== lastPeer) {
      lastPeer = rinfo.address;
      peerIndex = b.peer(lastPeer);
    }
    const i = b.count * 4;
    b.index[i] = b.used;
    b.index[i + 1] = msg.length;
    b.index[i + 2] = rinfo.port;
    b.index[i + 3] = peerIndex;
    b.used += msg.length;
    if (++b.count === BATCH_DATAGRAMS) flush();
    else timer ??= setTimeout(flush, BATCH_DELAY_MS);
  });
  let listening = false;
  socket.on('error', (e: NodeJS.ErrnoException) => port.postMessage({ kind: 'error', message: e.message, code: e.code, fatal: !listening }));
  socket.once('listening', () => {
    listening = true;
    port.postMessage({ kind: 'listening', port: socket.address().port, recvBufferSize: socket.getRecvBufferSize(), niceError, reader: 'dgram', fallbackReason });
  });
  port.on('message', (m: { kind: 'close' }) => {
    if (m.kind === 'close') socket.close(() => { flush(); port.close(); });
  });
  try {
    socket.bind(cfg.port, cfg.host);
  } catch (e) {
    port.postMessage({ kind: 'error', message: (e as Error).message, fatal: true });
  }
}

/** Runs until the main thread sets `control`; blocks this thread (poll, Atomics.wait) between reads. */
function readWithRecvmmsg(addon: UdpAddon, cfg: UdpReaderConfig, port: MessagePort, niceError: string | null): void {
  const family = cfg.type === 'udp6' ? 6 : 4;
  let sock: ReturnType<UdpAddon['open']>;
  try {
    sock = addon.open(family, cfg.host, cfg.port, cfg.recvBufferSize);
  } catch (e) {
    port.postMessage({ kind: 'error', message: (e as Error).message, code: (e as NodeJS.ErrnoException).code, fatal: true });
    return;
  }
  port.postMessage({ kind: 'listening', port: sock.port, recvBufferSize: sock.receiveBuffer, niceError, reader: 'recvmmsg', fallbackReason: null });
  const control = new Int32Array(cfg.control);
  const b = new BatchBuilder(port, cfg, ADDON_SLOT_BYTES);
  const addrs = new Int32Array(BATCH_DATAGRAMS * 4);
  // The text of each sender address, by its 4 words; bounded like the listener's peer map.
  const names = new Map<string, string>();
  let last0 = 0, last1 = 0, last2 = 0, last3 = 0, lastPeer = -1;
  let active = false;
  try {
    while (Atomics.load(control, 0) === 0) {
      const before = b.count;
      const n = addon.receive(sock.handle, b.data, b.used, b.index, b.count, addrs, active ? 0 : IDLE_WAIT_MS);
      if (n > 0) {
        active = true;
        if (b.empty) { b.startedAt = Date.now(); lastPeer = -1; }
        if (b.behind) b.dropped += n; // b.used stays: the bytes just read are overwritten
        else {
          for (let d = before; d < before + n; d++) {
            const j = d * 4;
            const a0 = addrs[j]!, a1 = addrs[j + 1]!, a2 = addrs[j + 2]!, a3 = addrs[j + 3]!;
            if (lastPeer < 0 || a0 !== last0 || a1 !== last1 || a2 !== last2 || a3 !== last3) {
              const key = `${a0} ${a1} ${a2} ${a3}`;
              let name = names.get(key);
              if (name === undefined) {
                if (names.size >= 4096) names.clear();
                name = addon.addressText(family, addrs, j);
                names.set(key, name);
              }
              lastPeer = b.peer(name);
              last0 = a0; last1 = a1; last2 = a2; last3 = a3;
            }
            b.index[j + 3] = lastPeer;
          }
          b.taken(n);
        }
      } else if (b.empty) active = false;
      // A read that stopped because the batch ran out of room left datagrams in the socket: read
      // on at once. Only a read that drained the socket waits (at 1.1M datagrams/s, waiting after
      // full batches too held sluice to ~345k/s at half a core, losing half of them).
      const outOfRoom = b.full || b.used + ADDON_SLOT_BYTES > b.data.length;
      if (outOfRoom || (!b.empty && Date.now() - b.startedAt >= BATCH_DELAY_MS)) b.flush();
      if (active && !outOfRoom) Atomics.wait(control, 0, 0, READ_INTERVAL_MS);
    }
    // What the kernel queued before the close is still read and handed over.
    for (;;) {
      const n = addon.receive(sock.handle, b.data, b.used, b.index, b.count, addrs, 0);
      if (n === 0) break;
      for (let d = b.count; d < b.count + n; d++) b.index[d * 4 + 3] = b.peer(addon.addressText(family, addrs, d * 4));
      b.taken(n);
      if (b.full || b.used + ADDON_SLOT_BYTES > b.data.length) b.flush();
    }
  } catch (e) {
    port.postMessage({ kind: 'error', message: (e as Error).message, code: (e as NodeJS.ErrnoException).code, fatal: false });
  }
  addon.close(sock.handle);
  b.flush();
  port.close();
}

function run(cfg: UdpReaderConfig, port: MessagePort): void {
  const niceError = raisePriority(cfg.nice);
  let fallbackReason: string | null = null;
  if (cfg.reader !== 'dgram') {
    const { addon, error } = loadUdpAddon();
    if (addon === null) fallbackReason = `the recvmmsg addon is not built (${error})`;
    else if (net.isIP(cfg.host) === 0) fallbackReason = `${cfg.host} is a name to resolve`;
    else return readWithRecvmmsg(addon, cfg, port, niceError);
    if (cfg.reader === 'recvmmsg') {
      port.postMessage({ kind: 'error', message: `udp_reader: recvmmsg is not available: ${fallbackReason}`, fatal: true });
      return;
    }
  }
  readWithDgram(cfg, port, niceError, fallbackReason);
}

if (parentPort) run(workerData as UdpReaderConfig, parentPort);
