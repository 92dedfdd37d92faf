// redact: addresses, e-mail addresses, user names and card numbers replaced in message, structured data and fields;
// 10,000 varied events through a pipeline to HTTP: nothing original leaves, tokens are stable per key.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Redactor, redactSchema } from '../../src/transforms/redact/index.js';
import { endpoint, startPipeline } from '../helpers/daemon.js';
import { prng } from '../helpers/prng.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import { syslog } from '../rules/helpers.js';

const KEY_A = 'key-A-0123456789abcdef';
const KEY_B = 'key-B-fedcba9876543210';
const redactor = (c: Record<string, unknown>) => new Redactor(redactSchema.parse({ type: 'redact', ...c }));

describe('redact', () => {
  test('mask: IPv4, IPv6, e-mail, user names in sshd/sudo/PAM phrasings; the text around stays', () => {
    const r = redactor({});
    assert.equal(r.text('Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2'),
      'Failed password for invalid user [REDACTED] from [REDACTED] port 50022 ssh2');
    assert.equal(r.text('Failed password for root from 2001:db8::7 port 22 ssh2'), 'Failed password for [REDACTED] from [REDACTED] port 22 ssh2');
    assert.equal(r.text('Invalid user oracle from 198.51.100.2 port 4242'), 'Invalid user [REDACTED] from [REDACTED] port 4242');
    assert.equal(r.text('pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)'),
      'pam_unix(sshd:session): session opened for user [REDACTED](uid=1000) by (uid=0)');
    assert.equal(r.text('   alice : TTY=pts/0 ; PWD=/srv ; USER=root ; COMMAND=/bin/bash'), '   [REDACTED] : TTY=pts/0 ; PWD=/srv ; USER=[REDACTED] ; COMMAND=/bin/bash');
    assert.equal(r.text('mail from <bob.smith+x@example.org> ok'), 'mail from <[REDACTED]> ok');
    assert.equal(r.text('type=USER_AUTH acct="carol" exe="/usr/sbin/sshd" addr=192.0.2.10 res=failed'),
      'type=USER_AUTH acct="[REDACTED]" exe="/usr/sbin/sshd" addr=[REDACTED] res=failed');
    // Not addresses: versions, times, MACs.
    assert.equal(r.text('openssl 3.0.13 at 12:30:45 mac 52:54:00:12:34:56'), 'openssl 3.0.13 at 12:30:45 mac 52:54:00:12:34:56');
  });

  test('card numbers only when the Luhn digit checks', () => {
    const r = redactor({ builtin: ['card'] });
    assert.equal(r.text('paid with 4111 1111 1111 1111 today'), 'paid with [REDACTED] today');
    assert.equal(r.text('order 4111 1111 1111 1112 today'), 'order 4111 1111 1111 1112 today');
  });

  test('hmac: one value one token under a key, another under another key; format-preserving addresses', () => {
    const a = redactor({ mode: 'hmac', key: KEY_A });
    const b = redactor({ mode: 'hmac', key: KEY_B });
    const ta = a.text('from 203.0.113.9 port 1');
    assert.match(ta, /^from ip-[0-9a-f]{12} port 1$/);
    assert.equal(a.text('again 203.0.113.9'), `again ${ta.split(' ')[1]}`);
    assert.notEqual(a.text('x 203.0.113.10').split(' ')[1], ta.split(' ')[1]);
    assert.notEqual(b.text('from 203.0.113.9 port 1'), ta);
    const fp = redactor({ mode: 'hmac', key: KEY_A, format_preserving: true });
    const out = fp.text('from 203.0.113.9 and 2001:db8::1');
    const [, v4, v6] = /^from (\S+) and (\S+)$/.exec(out)!;
    assert.equal(net.isIPv4(v4!), true);
    assert.equal(net.isIPv6(v6!), true);
    assert.notEqual(v4, '203.0.113.9');
  });

  test('operator patterns, listed users, structured data and fields; the original event is untouched', () => {
    const r = redactor({ patterns: [{ name: 'ticket', regex: 'TCK-\\d+' }], users: ['svc-backup'] });
    assert.equal(r.text('see TCK-12345 by svc-backup on 10.0.0.1'), 'see [REDACTED] by [REDACTED] on 10.0.0.1');
    const all = redactor({ mode: 'hmac', key: KEY_A });
    const ev = syslog('<13>1 2026-03-01T12:00:00Z h app - - [origin ip="192.0.2.5" mail="x@example.com"] hi 192.0.2.5');
    ev.fields = { client: { addr: '192.0.2.5' } };
    const copy = ev.clone();
    all.event(copy);
    const tok = /hi (\S+)/.exec(copy.message!)![1]!;
    assert.deepEqual(copy.structuredData, { origin: { ip: tok, mail: copy.structuredData!.origin!.mail } });
    assert.match(String(copy.structuredData!.origin!.mail), /^email-/);
    assert.deepEqual(copy.fields, { client: { addr: tok } });
    assert.equal(copy.source.address, all.token('ip', '127.0.0.1'));
    assert.equal(ev.message, 'hi 192.0.2.5');
    assert.deepEqual(ev.structuredData, { origin: { ip: '192.0.2.5', mail: 'x@example.com' } });
    assert.deepEqual(ev.fields, { client: { addr: '192.0.2.5' } });
    assert.equal(ev.source.address, '127.0.0.1');
  });

  test('10,000 varied events: no original leaves through HTTP; tokens stable per key and distinct across keys; a second path gets the originals', async () => {
    const rnd = prng(15);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory', 'oscar', 'deploy', 'postgres', 'www-data'];
    const ip4s = Array.from({ length: 300 }, () => `${[10, 172, 192, 198, 203][Math.floor(rnd() * 5)]}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`);
    const ip6s = Array.from({ length: 100 }, (_, i) => `2001:db8:${(i * 7919 % 65536).toString(16)}::${(i + 1).toString(16)}`);
    const emails = Array.from({ length: 150 }, (_, i) => `${pick(USERS)}.${i}@${pick(['example.com', 'example.org', 'mail.example.net'])}`);
    // values: every original in the event; the message holds them in this order (its first sightings).
    type Gen = { line: string; values: string[]; inMessage?: string[] };
    const shapes: ((n: number) => Gen)[] = [
      (n) => { const u = pick(USERS), ip = pick(ip4s); return { line: `<38>Mar  1 12:00:00 web1 sshd[812]: Failed password for invalid user ${u} from ${ip} port ${1024 + n % 60000} ssh2 seq=${n}`, values: [u, ip] }; },
      (n) => { const u = pick(USERS), ip = pick(ip6s); return { line: `<38>Mar  1 12:00:01 web2 sshd[813]: Accepted publickey for ${u} from ${ip} port 5${n % 9999} ssh2: ED25519 SHA256:q1w2e3 seq=${n}`, values: [u, ip] }; },
      (n) => { const u = pick(USERS); return { line: `<86>Mar  1 12:00:02 db1 sudo:    ${u} : TTY=pts/${n % 9} ; PWD=/home/${u} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx seq=${n}`, values: [u, 'root'] }; },
      (n) => { const ip = pick(ip4s), e = pick(emails); return { line: `<13>1 2026-03-01T12:00:03.120Z app1 billing 77 INV [client ip="${ip}" mail="${e}"] invoice mailed to ${e} seq=${n}`, values: [ip, e], inMessage: [e] }; },
      (n) => { const ip = pick(ip4s), e = pick(emails); return { line: `<22>Mar  1 12:00:04 mx1 postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[${ip}]: 554 5.7.1 <${e}>: Relay access denied seq=${n}`, values: [ip, e] }; },
      (n) => { const u = pick(USERS), ip = pick(ip4s); return { line: `<38>Mar  1 12:00:05 web1 sshd[900]: Invalid user ${u} from ${ip} port ${2000 + n % 50000} seq=${n}`, values: [u, ip] }; },
      (n) => { const u = pick(USERS); return { line: `<86>Mar  1 12:00:06 web1 sshd[901]: pam_unix(sshd:session): session opened for user ${u}(uid=1001) by (uid=0) seq=${n}`, values: [u] }; },
      (n) => { const u = pick(USERS), ip = pick(ip6s); return { line: `<14>1 2026-03-01T12:00:07Z api1 gateway 5 - - login ok user=${u} client=${ip} seq=${n}`, values: [u, ip] }; },
      (n) => { const u = pick(USERS), ip = pick(ip4s); return { line: `<38>Mar  1 12:00:08 web3 sshd[902]: Disconnected from authenticating user ${u} ${ip} port 4${n % 9999} [preauth] seq=${n}`, values: [u, ip] }; },
      (n) => { const ip = pick(ip4s), e = pick(emails); return { line: `<190>Mar  1 12:00:09 lb1 nginx: ${ip} - - "GET /reset?email=${e} HTTP/1.1" 200 512 seq=${n}`, values: [ip, e] }; },
    ];
    const N = 10_000;
    const gens = Array.from({ length: N }, (_, n) => shapes[n % shapes.length]!(n));

    const received = { a: [] as string[], b: [] as string[] };
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        (req.url === '/a' ? received.a : received.b).push(...body.split('\n').filter(Boolean));
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const dir = tempDir('redact');
    const p = await startPipeline(`
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
transforms:
  pseudo_a: { type: redact, mode: hmac, key: "${KEY_A}", users: [${USERS.join(', ')}] }
  pseudo_b: { type: redact, mode: hmac, key: "${KEY_B}", users: [${USERS.join(', ')}] }
destinations:
  saas_a: { type: http, url: "http://127.0.0.1:${port}/a", mode: ndjson }
  saas_b: { type: http, url: "http://127.0.0.1:${port}/b", mode: ndjson }
  local: { type: file, path: "${dir}/originals.log", template: "\${MSG}\\n" }
log:
  - { from: net, transform: pseudo_a, to: saas_a }
  - { from: net, transform: [pseudo_b], to: saas_b }
  - { from: net, to: local }
`, dir);
    try {
      const ep = endpoint(p, 'net', 'tcp');
      const sock = net.connect(ep.port, ep.host);
      await new Promise((r) => sock.once('connect', r));
      sock.end(gens.map((g) => g.line).join('\n') + '\n');
      const localFile = path.join(dir, 'originals.log');
      await waitFor(() => received.a.length === N && received.b.length === N && fs.existsSync(localFile) && fs.readFileSync(localFile, 'utf8').split('\n').length > N,
        `all ${N} events at both HTTP endpoints and the file`, 60_000);
    } finally {
      await p.stop();
      server.close();
    }

    const originals = new Set(gens.flatMap((g) => g.values));
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // One alternation over every original value, with boundaries so "10.1.2.3" is not found inside "110.1.2.34".
    const anyOriginal = new RegExp(`(?<![\\w.:-])(?:${[...originals].sort((x, y) => y.length - x.length).map(escape).join('|')})(?![\\w:-]|\\.\\d)`);
    for (const [name, lines] of Object.entries(received)) {
      for (const line of lines) {
        const m = anyOriginal.exec(line);
        assert.equal(m, null, `${name}: original ${m?.[0]} left in ${line}`);
      }
    }
    // Tokens by position: per key, a value always gets the same token and distinct values distinct tokens.
    const tokensOf = (lines: string[]) => {
      const byValue = new Map<string, Set<string>>();
      for (const line of lines) {
        const ev = JSON.parse(line) as { message: string };
        const seq = Number(/seq=(\d+)/.exec(ev.message)![1]);
        const g = gens[seq]!;
        const toks = ev.message.match(/\b(?:ip|email|user)-[0-9a-f]{12}\b/g) ?? [];
        // The sudo shape names its user twice (the second time as /home/NAME, a listed word): one token.
        const uniq = [...new Set(toks)];
        const vals = [...new Set(g.inMessage ?? g.values)];
        assert.equal(uniq.length, vals.length, `tokens in ${ev.message} for ${vals.join(', ')}`);
        vals.forEach((v, i) => { (byValue.get(v) ?? byValue.set(v, new Set()).get(v)!).add(uniq[i]!); });
      }
      for (const [v, ts] of byValue) assert.equal(ts.size, 1, `${v} got tokens ${[...ts].join(', ')}`);
      const tokens = [...byValue.values()].map((s) => [...s][0]!);
      assert.equal(new Set(tokens).size, tokens.length, 'distinct values get distinct tokens');
      return new Map([...byValue].map(([v, s]) => [v, [...s][0]!]));
    };
    const ta = tokensOf(received.a);
    const tb = tokensOf(received.b);
    for (const [v, t] of ta) assert.notEqual(tb.get(v), t, `${v}: same token under two keys`);
    // The path without redact got the originals.
    const lines = fs.readFileSync(path.join(dir, 'originals.log'), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, N);
    const bySeq = new Map(lines.map((l) => [Number(/seq=(\d+)/.exec(l)![1]), l]));
    for (let n = 0; n < N; n++) for (const v of gens[n]!.inMessage ?? gens[n]!.values) assert.ok(bySeq.get(n)!.includes(v), `original ${v} in event ${n}`);
  });
});
