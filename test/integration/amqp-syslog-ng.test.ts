// Must show (issue 14, 5): syslog-ng's amqp() destination (Debian's syslog-ng-mod-amqp) publishes
// into RabbitMQ and sluice's amqp source consumes every message intact.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { haveBroker, createVhost, deleteVhost, missingRanges, reachable, seqCounts, uniqueName } from '../helpers/brokers.js';
import { freePort, startPipeline } from '../helpers/daemon.js';
import { findSyslogNg, havePeer } from '../helpers/peers.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const AMQP_MODULE = '/usr/lib/syslog-ng/3.38/libafamqp.so';
let ng: ChildProcess | null = null;
let agg: Pipeline | null = null;
let vh: string | null = null;
after(async () => {
  if (ng && ng.exitCode === null) { const gone = new Promise((r) => ng!.once('exit', r)); ng.kill('SIGTERM'); await gone; }
  await agg?.stop();
  if (vh) await deleteVhost(vh);
});

test('syslog-ng amqp() → RabbitMQ → sluice amqp source: every message, header fields intact', { timeout: 120_000 }, async (t) => {
  if (!(await haveBroker(t, 'amqp'))) return;
  const sng = findSyslogNg();
  if (!havePeer(t, 'syslog-ng with its amqp module (syslog-ng-mod-amqp)', sng && fs.existsSync(AMQP_MODULE) ? sng : null)) return;
  const dir = tempDir('amqp-sng');
  vh = uniqueName('sng').toLowerCase();
  const url = await createVhost(vh);
  // sluice declares the exchange, the quorum queue and the binding; syslog-ng only publishes.
  const out = path.join(dir, 'out.log');
  agg = await startPipeline(`
api: false
data_dir: ${dir}/agg
sources:
  bus: { type: amqp, url: "${url}", queue: from-syslog-ng, routing_key: "syslog.#", format: syslog }
destinations:
  out: { type: file, path: "${out}", template: "\${HOST}|\${PROGRAM}|\${PID}|\${FACILITY}.\${LEVEL}|\${MSG}\\n" }
log:
  - { from: bus, to: out }
`, dir);
  await waitFor(() => agg!.addresses('bus').length > 0, 'source started', 10_000);
  const port = await freePort();
  const conf = path.join(dir, 'syslog-ng.conf');
  fs.writeFileSync(conf, `@version: 3.38
options { use-dns(no); keep-hostname(yes); chain-hostnames(no); stats-freq(0); };
source s_net { network(ip("127.0.0.1") port(${port}) transport("tcp") flags(syslog-protocol)); };
destination d_amqp {
  amqp(host("127.0.0.1") port(5672) vhost("${vh}") username("guest") password("guest")
       exchange("sluice") exchange-declare(no) routing-key("syslog.\${HOST}")
       body("<\${PRI}>1 \${ISODATE} \${HOST} \${PROGRAM} \${PID} \${MSGID:--} \${SDATA:--} \${MSG}") persistent(yes));
};
log { source(s_net); destination(d_amqp); flags(flow-control); };
`);
  // Let the source declare the exchange before syslog-ng connects to it.
  await sleepUntilExchange();
  ng = spawn(sng!.bin, ['-F', '--no-caps', '-f', conf, `--persist-file=${dir}/sng.persist`, `--pidfile=${dir}/sng.pid`, `--control=${dir}/sng.ctl`], {
    env: { ...process.env, ...sng!.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ngLog: string[] = [];
  ng.stderr!.on('data', (d: Buffer) => ngLog.push(d.toString()));
  ng.stdout!.on('data', (d: Buffer) => ngLog.push(d.toString()));
  await waitFor(() => reachable(port), 'syslog-ng listening', 20_000, 100).catch((e: Error) => { throw new Error(`${e.message}: ${ngLog.join('')}`); });
  const N = 5000;
  await send(`tcp://127.0.0.1:${port}`, { count: N, rate: 2000, size: 0, format: 'rfc5424', connections: 1, hostname: 'edge-7', appname: 'billing', facility: 4, severity: 3 });
  await waitFor(() => seqCounts([out]).size === N, `all ${N} messages consumed`, 60_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}; missing ${missingRanges(seqCounts([out]), N)}; syslog-ng: ${ngLog.join('').slice(-2000)}`);
  });
  const lines = readLines(out);
  for (const l of lines.slice(0, 50)) assert.match(l, /^edge-7\|billing\|\d+\|auth\.err\|seq=\d+/);
  t.diagnostic(`${N} messages from syslog-ng's amqp() consumed; ${lines.length - N} duplicates`);

  async function sleepUntilExchange(): Promise<void> {
    await waitFor(async () => {
      const { execFile } = await import('node:child_process');
      const out2 = await new Promise<string>((r) => execFile('rabbitmqctl', ['list_exchanges', '-q', '-p', vh!, 'name'], (_e, so) => r(String(so))));
      return out2.split('\n').some((l) => l.trim() === 'sluice');
    }, 'exchange declared by sluice', 20_000, 200);
  }
});
