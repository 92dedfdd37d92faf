// The UDP socket's own thread: drains the kernel buffer and hands datagrams over in batches.
//
// A datagram the kernel cannot queue is lost for good, and the main thread pauses now and
// then (garbage collection, bursts of parsing). Reading in a worker keeps the socket drained
// through those pauses; the main thread parses at its own pace from the batches. On a busy
// host the thread also asks for a higher priority (udp_reader_nice): its work per datagram is
// small, and a datagram that waits for the CPU in a full socket buffer is dropped.

import dgram from 'node:dgram';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

export interface UdpReaderConfig {
  type: 'udp4' | 'udp6';
  host: string;
  port: number;
  recvBufferSize: number;
  /** Nice value for this thread, or null to keep the process's. */
  nice: number | null;
  /** Bytes handed over and not yet taken by the main thread, at most; beyond, datagrams are dropped and counted. */
  maxOutstandingBytes: number;
  /** One Int32: bytes handed over and not yet taken; the main thread subtracts what it took. */
  outstanding: SharedArrayBuffer;
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
  | { kind: 'listening'; port: number; recvBufferSize: number; niceError: string | null }
  | { kind: 'error'; message: string; code?: string; fatal: boolean };

const BATCH_BYTES = 256 * 1024;
const BATCH_DATAGRAMS = 2048;
/** A batch is handed over when full or this long after its first datagram: each hand-over costs both threads. */
const BATCH_DELAY_MS = 2;

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

function run(cfg: UdpReaderConfig, port: NonNullable<typeof parentPort>): void {
  const niceError = raisePriority(cfg.nice);
  let data = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  const index = new Int32Array(BATCH_DATAGRAMS * 4);
  let count = 0;
  let peers: string[] = [];
  const peerIds = new Map<string, number>();
  let lastPeer = '';
  let peerIndex = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  const outstanding = new Int32Array(cfg.outstanding);

  const flush = (): void => {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    if (count === 0 && dropped === 0) return;
    const copy = new Uint8Array(used);
    copy.set(data.subarray(0, used));
    const batch: UdpBatch = { kind: 'batch', data: copy.buffer, index: index.slice(0, count * 4), peers, receivedAt: Date.now(), dropped };
    port.postMessage(batch, [batch.data, batch.index.buffer as ArrayBuffer]);
    Atomics.add(outstanding, 0, used);
    used = 0;
    count = 0;
    peers = [];
    peerIds.clear();
    lastPeer = '';
    dropped = 0;
  };

  const socket = dgram.createSocket({ type: cfg.type, recvBufferSize: cfg.recvBufferSize });
  socket.on('message', (msg, rinfo) => {
    if (Atomics.load(outstanding, 0) >= cfg.maxOutstandingBytes) {
      // Reported with the next batch (an empty one is sent just for that).
      dropped++;
      timer ??= setTimeout(flush, BATCH_DELAY_MS);
      return;
    }
    if (used + msg.length > data.length) {
      flush();
      if (msg.length > data.length) data = Buffer.allocUnsafe(msg.length);
    }
    msg.copy(data, used);
    if (rinfo.address !== lastPeer) {
      lastPeer = rinfo.address;
      let p = peerIds.get(lastPeer);
      if (p === undefined) { p = peers.push(lastPeer) - 1; peerIds.set(lastPeer, p); }
      peerIndex = p;
    }
    const i = count * 4;
    index[i] = used;
    index[i + 1] = msg.length;
    index[i + 2] = rinfo.port;
    index[i + 3] = peerIndex;
    used += msg.length;
    if (++count === BATCH_DATAGRAMS) flush();
    else timer ??= setTimeout(flush, BATCH_DELAY_MS);
  });
  let listening = false;
  socket.on('error', (e: NodeJS.ErrnoException) => port.postMessage({ kind: 'error', message: e.message, code: e.code, fatal: !listening }));
  socket.once('listening', () => {
    listening = true;
    port.postMessage({ kind: 'listening', port: socket.address().port, recvBufferSize: socket.getRecvBufferSize(), niceError });
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

if (parentPort) run(workerData as UdpReaderConfig, parentPort);
