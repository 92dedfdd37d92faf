// Must show (issue 16, 5, S3): CloudTrail files in a bucket of an S3-compatible server the test
// starts (s3rver): objects read once across a restart, records become events; a corrupt object
// is counted and skipped. Also the local-directory mode.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, describe, test } from 'node:test';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfigText } from '../../../src/config/load.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { readLines, sleep, tempDir, waitFor } from '../../helpers/wait.js';

const require = createRequire(import.meta.url);
const running: Pipeline[] = [];
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const p of running) await p.stop();
  for (const c of closers) await c();
});

const PREFIX = 'AWSLogs/123456789012/CloudTrail/eu-west-1/';

function trailFile(first: number, n: number): Buffer {
  const Records = [];
  for (let i = first; i < first + n; i++) {
    Records.push({
      eventVersion: '1.08', eventTime: `2024-03-01T10:${String(i % 60).padStart(2, '0')}:00Z`,
      eventSource: i % 2 ? 'iam.amazonaws.com' : 's3.amazonaws.com', eventName: i % 2 ? 'CreateUser' : 'GetObject',
      awsRegion: 'eu-west-1', sourceIPAddress: '198.51.100.7', userAgent: 'aws-cli/2',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012', userName: 'alice' },
      requestParameters: { seq: i }, eventID: `id-${i}`, recipientAccountId: '123456789012',
      ...(i === 3 ? { errorCode: 'AccessDenied' } : {}),
    });
  }
  return zlib.gzipSync(JSON.stringify({ Records }));
}

function key(day: number, n: number): string {
  return `${PREFIX}2024/03/${String(day).padStart(2, '0')}/123456789012_CloudTrail_eu-west-1_20240301T1000Z_${n}.json.gz`;
}

async function startS3(dir: string): Promise<string> {
  const S3rver = require('s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(dir, 's3'), configureBuckets: [{ name: 'trail' }] });
  const { address: host, port } = await server.run();
  closers.push(() => server.close());
  return `http://${host}:${port}`;
}

async function start(dir: string, source: Record<string, unknown>, metrics = new Metrics()): Promise<Pipeline> {
  const yaml = JSON.stringify({
    api: false, data_dir: path.join(dir, 'data'),
    sources: { trail: { type: 's3', poll_interval: '200ms', ...source } },
    destinations: { out: { type: 'file', path: path.join(dir, 'out.ndjson'), format: 'json' } },
    log: [{ from: 'trail', to: 'out' }],
  });
  const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir, metrics });
  running.push(p);
  return p;
}

async function stop(p: Pipeline): Promise<void> {
  await p.stop();
  running.splice(running.indexOf(p), 1);
}

const seqs = (out: string) => readLines(out).map((l) => JSON.parse(l).fields.requestParameters.seq as number);

describe('s3 source, cloudtrail', () => {
  test('s3rver: records become events, each object read once across a restart, a corrupt object counted', { timeout: 60_000 }, async () => {
    const dir = tempDir('s3');
    const endpoint = await startS3(dir);
    const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    closers.push(async () => s3.destroy());
    const put = (k: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: 'trail', Key: k, Body: body }));
    await put(key(1, 1), trailFile(0, 5));
    await put(key(1, 2), trailFile(5, 5));
    await put(key(1, 3), Buffer.from('this is not gzip nor json'));
    await put('other/prefix/ignored.json.gz', trailFile(100, 3));
    const cfg = { bucket: 'trail', prefix: PREFIX, endpoint, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };
    const out = path.join(dir, 'out.ndjson');
    const metrics = new Metrics();
    let p = await start(dir, cfg, metrics);
    await waitFor(() => readLines(out).length >= 10, 'ten records');
    await waitFor(async () => (await metrics.value('sluice_errors_total', { component: 'trail', error_type: 'bad_object' })) === 1, 'the corrupt object counted');
    await sleep(300);
    await stop(p);

    const evs = readLines(out).map((l) => JSON.parse(l));
    const e = evs.find((x) => x.fields.requestParameters.seq === 1)!;
    assert.equal(e.timestamp, '2024-03-01T10:01:00Z');
    assert.equal(e.appname, 'iam.amazonaws.com');
    assert.equal(e.msgid, 'CreateUser');
    assert.equal(e.hostname, '123456789012');
    assert.equal(e.message, 'iam.amazonaws.com CreateUser by arn:aws:iam::123456789012:user/alice from 198.51.100.7');
    assert.equal(e.fields.eventName, 'CreateUser');
    assert.equal(e.fields.userIdentity.userName, 'alice');
    assert.equal(e.fields.s3_key, key(1, 2).replace('_2.', '_1.'));
    assert.equal(e.source.transport, 's3');
    const denied = evs.find((x) => x.fields.requestParameters.seq === 3)!;
    assert.equal(denied.severity, 4);
    assert.match(denied.message, /failed: AccessDenied$/);

    // New objects while stopped: after the restart only those are read.
    await put(key(2, 1), trailFile(10, 7));
    p = await start(dir, cfg);
    await waitFor(() => readLines(out).length >= 17, '17 records');
    await sleep(600);
    await stop(p);
    assert.deepEqual(seqs(out).sort((a, b) => a - b), Array.from({ length: 17 }, (_, i) => i), 'each record once, none from outside the prefix');
  });

  test('a local directory of CloudTrail files', { timeout: 30_000 }, async () => {
    const dir = tempDir('s3-dir');
    const files = path.join(dir, 'trail');
    const k = key(5, 1);
    fs.mkdirSync(path.dirname(path.join(files, k)), { recursive: true });
    fs.writeFileSync(path.join(files, k), trailFile(0, 4));
    fs.writeFileSync(path.join(files, k.replace('_1.json.gz', '_2.json')), JSON.stringify({ Records: [{ eventName: 'PutObject', eventSource: 's3.amazonaws.com', eventTime: '2024-03-05T00:00:00Z', requestParameters: { seq: 4 } }] }));
    const out = path.join(dir, 'out.ndjson');
    const p = await start(dir, { directory: files, prefix: 'AWSLogs/' });
    await waitFor(() => readLines(out).length >= 5, 'five records');
    await sleep(500);
    assert.deepEqual(seqs(out).sort(), [0, 1, 2, 3, 4]);
    await stop(p);
  });
});
