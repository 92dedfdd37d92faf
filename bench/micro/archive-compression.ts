// Micro benchmark: archive codecs on realistic syslog rows (ratio, compress and decompress MB/s).
//
// Run: node dist/bench/micro/archive-compression.js [records=200000]
// The archive compresses 1 MiB blocks independently; so does this.

import zlib from 'node:zlib';
import { prng } from '../../test/helpers/prng.js';

const HOSTS = ['web-01', 'web-02', 'web-03', 'db-01', 'db-02', 'lb-01', 'mail-01', 'build-07'];
const USERS = ['root', 'deploy', 'alice', 'bob', 'backup', 'nagios', 'git'];
const PATHS = ['/', '/api/v1/orders', '/api/v1/users/', '/static/app.js', '/login', '/health', '/images/logo.png', '/search?q='];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0', 'Prometheus/2.48.1', 'Go-http-client/1.1'];

export function syslogRows(n: number, seed = 42): Buffer[] {
  const r = prng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
  const ip = () => `${10 + Math.floor(r() * 200)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  let t = Date.UTC(2026, 11, 1);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * 40);
    const ts = new Date(t).toISOString();
    const host = pick(HOSTS);
    let line: string;
    const k = r();
    if (k < 0.35) {
      line = `<134>1 ${ts} ${host} nginx ${1000 + Math.floor(r() * 50)} - - ${ip()} - - "GET ${pick(PATHS)}${Math.floor(r() * 99999)} HTTP/1.1" ${pick([200, 200, 200, 304, 404, 500])} ${Math.floor(r() * 50000)} "-" "${pick(AGENTS)}" rt=${(r() * 2).toFixed(3)}`;
    } else if (k < 0.55) {
      line = `<38>1 ${ts} ${host} sshd ${2000 + Math.floor(r() * 30000)} - - ${pick(['Accepted publickey for', 'Failed password for', 'Invalid user', 'Disconnected from user'])} ${pick(USERS)} from ${ip()} port ${1024 + Math.floor(r() * 60000)} ssh2${r() < 0.5 ? `: ED25519 SHA256:${Buffer.from(Array.from({ length: 32 }, () => Math.floor(r() * 256))).toString('base64').slice(0, 43)}` : ''}`;
    } else if (k < 0.7) {
      line = `<30>1 ${ts} ${host} systemd 1 - - ${pick(['Started', 'Stopped', 'Starting', 'Reloading'])} ${pick(['nginx.service', 'postgresql@16-main.service', 'logrotate.service', 'apt-daily.service', 'session-' + Math.floor(r() * 9999) + '.scope'])} - ${pick(['A high performance web server', 'PostgreSQL Cluster 16-main', 'Rotate log files', 'Session of user ' + pick(USERS)])}.`;
    } else if (k < 0.82) {
      line = `<22>1 ${ts} ${host} postfix/smtpd ${3000 + Math.floor(r() * 9000)} - - ${Math.floor(r() * 0xffffffff).toString(16).toUpperCase()}: client=unknown[${ip()}], sasl_method=PLAIN, sasl_username=${pick(USERS)}@example.com`;
    } else if (k < 0.92) {
      line = `<4>1 ${ts} ${host} kernel - - - [${(t / 1000 % 100000).toFixed(6)}] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:${Math.floor(r() * 256).toString(16)}:12:34 SRC=${ip()} DST=${ip()} LEN=${40 + Math.floor(r() * 1400)} TOS=0x00 PROTO=TCP SPT=${Math.floor(r() * 65535)} DPT=${pick([22, 80, 443, 3306, 5432, 8080])} WINDOW=1024 SYN`;
    } else {
      line = `<78>1 ${ts} ${host} CRON ${4000 + Math.floor(r() * 9000)} - - (${pick(USERS)}) CMD (${pick(['/usr/local/bin/backup.sh --incremental', 'run-parts /etc/cron.hourly', 'test -x /usr/sbin/anacron', '/opt/app/bin/cleanup --older-than 7d'])})`;
    }
    // The store keeps the event as received plus its parsed fields: model that row.
    out.push(Buffer.from(JSON.stringify({ seq: i + 1, received_at: ts, raw: line, host, transport: 'tcp' })));
  }
  return out;
}

function blocks(rows: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let n = 0;
  for (const r of rows) {
    cur.push(Buffer.alloc(20), r);
    n += 20 + r.length;
    if (n >= 1 << 20) { out.push(Buffer.concat(cur)); cur = []; n = 0; }
  }
  if (cur.length) out.push(Buffer.concat(cur));
  return out;
}

const brotli = (q: number) => (b: Buffer) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } });
const CODECS: Array<[string, (b: Buffer) => Buffer, (b: Buffer) => Buffer]> = [
  ['gzip -1', (b) => zlib.gzipSync(b, { level: 1 }), zlib.gunzipSync],
  ['gzip -6', (b) => zlib.gzipSync(b, { level: 6 }), zlib.gunzipSync],
  ['gzip -9', (b) => zlib.gzipSync(b, { level: 9 }), zlib.gunzipSync],
  ['brotli q4', brotli(4), zlib.brotliDecompressSync],
  ['brotli q5', brotli(5), zlib.brotliDecompressSync],
  ['brotli q6', brotli(6), zlib.brotliDecompressSync],
  ['brotli q9', brotli(9), zlib.brotliDecompressSync],
];

const n = Number(process.argv[2] ?? 200_000);
const rows = syslogRows(n);
const bs = blocks(rows);
const raw = bs.reduce((s, b) => s + b.length, 0);
console.log(`${n} rows, ${(raw / n).toFixed(0)} B/row raw, ${bs.length} blocks`);
for (const [name, c, d] of CODECS) {
  let t0 = process.hrtime.bigint();
  const z = bs.map(c);
  const ct = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  for (const b of z) d(b);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const zs = z.reduce((s, b) => s + b.length, 0);
  console.log(`${name.padEnd(10)} ratio ${(raw / zs).toFixed(2)}x  ${(zs / n).toFixed(1)} B/row  compress ${(raw / ct / 1e6).toFixed(0)} MB/s  decompress ${(raw / dt / 1e6).toFixed(0)} MB/s`);
}
