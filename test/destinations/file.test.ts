// File destination: templated paths group a batch's events by file, whatever their order.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { fileDestinationSchema } from '../../src/destinations/file/config.js';
import { FileDestination } from '../../src/destinations/file/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { tempDir } from '../helpers/wait.js';

const SRC = { name: 'net', transport: 'tcp' as const, address: '192.0.2.9', port: 514, tlsPeer: null };

function event(host: string, app: string, msg: string): LogEvent {
  const buf = Buffer.from(`<13>1 2026-11-23T10:00:00Z ${host} ${app} - - - ${msg}`);
  const ev = new LogEvent(SRC, 0);
  parseSyslog(ev, buf, 0, buf.length, 'rfc5424');
  return ev;
}

async function send(dest: FileDestination, events: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => dest.send(events, resolve));
}

test('events of one batch land in their own files, in order, however the paths alternate', async () => {
  const dir = tempDir('file-dest');
  const cfg = fileDestinationSchema.parse({ type: 'file', path: '${HOST}/${PROGRAM}.log', template: '${MSG}\n' });
  const dest = new FileDestination(cfg, { name: 'out', metrics: new Metrics(), dataDir: dir, baseDir: dir });
  const batch = [
    event('web-1', 'sshd', 'a1'), event('web-1', 'sshd', 'a2'), event('web-2', 'sshd', 'b1'),
    event('web-1', 'cron', 'c1'), event('web-1', 'sshd', 'a3'), event('web-2', 'sshd', 'b2'),
  ];
  assert.deepEqual(await send(dest, batch), { status: 'ok' });
  assert.deepEqual(await send(dest, [event('web-2', 'sshd', 'b3')]), { status: 'ok' });
  await dest.stop();
  const read = (p: string): string => fs.readFileSync(path.join(dir, p), 'utf8');
  assert.equal(read('web-1/sshd.log'), 'a1\na2\na3\n');
  assert.equal(read('web-2/sshd.log'), 'b1\nb2\nb3\n');
  assert.equal(read('web-1/cron.log'), 'c1\n');
});

test('values that join into the same bytes but split differently go to different files', async () => {
  const dir = tempDir('file-dest-split');
  // HOST "." + PROGRAM "x" and HOST ".x" + no PROGRAM both join to ".x"; but "." alone is
  // made path-safe as "_", so the first belongs in "_x" and the second in ".x".
  const cfg = fileDestinationSchema.parse({ type: 'file', path: '${HOST}${PROGRAM}', template: '${MSG}\n' });
  const dest = new FileDestination(cfg, { name: 'out', metrics: new Metrics(), dataDir: dir, baseDir: dir });
  assert.deepEqual(await send(dest, [event('.', 'x', 'one'), event('.x', '-', 'two'), event('.', 'x', 'three')]), { status: 'ok' });
  await dest.stop();
  assert.equal(fs.readFileSync(path.join(dir, '_x'), 'utf8'), 'one\nthree\n');
  assert.equal(fs.readFileSync(path.join(dir, '.x'), 'utf8'), 'two\n');
});
