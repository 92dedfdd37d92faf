// The daemon path TCP in -> syslog/TCP out while the receiver is down, then up, then restarted: nothing lost, nothing doubled.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, startPipeline, freePort } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const T = { timeout: 60_000 };

/** A newline-framed receiver on a fixed port; stop() closes it and every connection after reading all they sent. */
class LineReceiver {
  lines: string[] = [];
  private server: net.Server | null = null;
  private socks = new Set<net.Socket>();
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    let rest = '';
    this.server = net.createServer((s) => {
      this.socks.add(s);
      s.on('data', (d: Buffer) => {
        const parts = (rest + d.toString('utf8')).split('\n');
        rest = parts.pop()!;
        this.lines.push(...parts);
      });
      s.on('close', () => this.socks.delete(s));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  /** Closes: the server first, then each connection from our side (the destination must notice). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server!.close(() => r()));
    for (const s of this.socks) s.end();
    await closed;
  }
}


function sendTcp(port: number, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(lines.join('\n') + '\n'));
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

const msg = (tag: string, i: number) => `<134>1 2026-03-01T12:00:00Z web-01 ${tag} ${i} - - ${tag} seq=${i}`;

describe('syslog destination in the daemon: the receiver down, up, restarted', () => {
  let pipeline: Pipeline | null = null;
  let port: number;

  before(async () => {
    port = await freePort();
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
destinations:
  siem:
    type: syslog
    url: tcp://127.0.0.1:${port}
    retry: { initial: 50ms, max: 200ms }
log:
  - { from: net, to: siem }
`, tempDir('siem-retry'));
  });

  after(async () => { await pipeline?.stop(); });

  it('events wait in the buffer while the receiver is down and arrive once it listens, in order, once each', T, async () => {
    const src = endpoint(pipeline!, 'net', 'tcp');
    const first = Array.from({ length: 50 }, (_, i) => msg('down', i));
    await sendTcp(src.port, first);
    // Connection refused meanwhile: the runner retries with backoff.
    await waitFor(async () => (await pipeline!.metrics.value('sluice_retries_total', { component: 'siem' })) >= 2, 'two retries', 10_000);
    const rx = new LineReceiver(port);
    await rx.start();
    await waitFor(() => rx.lines.length >= 50, `50 lines (has ${rx.lines.length})`, 20_000);
    assert.deepEqual(rx.lines, first);

    // The receiver restarts: the destination notices the close and reconnects for the next batch.
    await rx.stop();
    const rx2 = new LineReceiver(port);
    await rx2.start();
    const second = Array.from({ length: 50 }, (_, i) => msg('restarted', i));
    await sendTcp(src.port, second);
    await waitFor(() => rx2.lines.length >= 50, `50 lines after the restart (has ${rx2.lines.length})`, 20_000);
    assert.deepEqual(rx2.lines, second);
    assert.deepEqual(rx.lines, first, 'nothing more reached the stopped receiver');
    await pipeline!.stop();
    pipeline = null;
    await rx2.stop();
  });
});
