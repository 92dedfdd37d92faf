// The UDP socket's own thread: drains the kernel buffer and hands datagrams over in batches.
//
// A datagram the kernel cannot queue is lost for good, and the main thread pauses now and
// then (garbage collection, bursts of parsing). Reading in a worker keeps the socket drained
// through those pauses; the main thread parses at its own pace from the batches.

import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';

export interface UdpReaderConfig {
  type: 'udp4' | 'udp6';
  host: string;
  port: number;
  recvBufferSize: number;
  /** Bytes handed over and not yet taken by the main thread, at most; beyond, datagrams are dropped and counted. */
  maxOutstandingBytes: number;
}

/** One batch: datagram bytes back to back, with [offset, length, port] triples and peer addresses. */
export interface UdpBatch {
  kind: 'batch';
  data: ArrayBuffer;
  index: Int32Array;
  addresses: string[];
  receivedAt: number;
  /** Datagrams dropped since the last batch because the main thread was too far behind. */
  dropped: number;
}

export type ReaderMessage =
  | UdpBatch
  | { kind: 'listening'; port: number; recvBufferSize: number }
  | { kind: 'error'; message: string; code?: string; fatal: boolean };

const BATCH_BYTES = 256 * 1024;
const BATCH_DATAGRAMS = 2048;

function run(cfg: UdpReaderConfig, port: NonNullable<typeof parentPort>): void {
  let data = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  let index: number[] = [];
  let addresses: string[] = [];
  let outstandingBytes = 0;
  let dropped = 0;
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (index.length === 0 && dropped === 0) return;
    const copy = new Uint8Array(used);
    copy.set(data.subarray(0, used));
    const batch: UdpBatch = { kind: 'batch', data: copy.buffer, index: Int32Array.from(index), addresses, receivedAt: Date.now(), dropped };
    port.postMessage(batch, [batch.data, batch.index.buffer as ArrayBuffer]);
    outstandingBytes += used;
    used = 0;
    index = [];
    addresses = [];
    dropped = 0;
  };

  const socket = dgram.createSocket({ type: cfg.type, recvBufferSize: cfg.recvBufferSize });
  socket.on('message', (msg, rinfo) => {
    if (outstandingBytes >= cfg.maxOutstandingBytes) {
      // Reported with the next batch (an empty one is sent just for that).
      dropped++;
      if (!scheduled) { scheduled = true; setImmediate(flush); }
      return;
    }
    if (used + msg.length > data.length) {
      flush();
      if (msg.length > data.length) data = Buffer.allocUnsafe(msg.length);
    }
    msg.copy(data, used);
    index.push(used, msg.length, rinfo.port);
    addresses.push(rinfo.address);
    used += msg.length;
    if (index.length >= BATCH_DATAGRAMS * 3) flush();
    else if (!scheduled) { scheduled = true; setImmediate(flush); }
  });
  let listening = false;
  socket.on('error', (e: NodeJS.ErrnoException) => port.postMessage({ kind: 'error', message: e.message, code: e.code, fatal: !listening }));
  socket.once('listening', () => {
    listening = true;
    port.postMessage({ kind: 'listening', port: socket.address().port, recvBufferSize: socket.getRecvBufferSize() });
  });
  port.on('message', (m: { kind: 'taken'; bytes: number } | { kind: 'close' }) => {
    if (m.kind === 'taken') outstandingBytes -= m.bytes;
    else socket.close(() => { flush(); port.close(); });
  });
  try {
    socket.bind(cfg.port, cfg.host);
  } catch (e) {
    port.postMessage({ kind: 'error', message: (e as Error).message, fatal: true });
  }
}

if (parentPort) run(workerData as UdpReaderConfig, parentPort);
