// Must show 1: OpenSSH lines from 3 attacking addresses and 20 quiet hosts through the project's
// rule pack (an event_count correlation): one alert per attacker per window, none for quiet hosts,
// delivered through a log path to an HTTP destination. Also: the pack's other rules on real shapes.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics/registry.js';
import { endpoint, REPO, startPipeline } from '../helpers/daemon.js';
import { prng } from '../helpers/prng.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const stamp = (s: number) => new Date(T0 + s * 1000).toISOString();

function collector(): Promise<{ url: string; alerts: Record<string, any>[]; close(): void }> {
  const alerts: Record<string, any>[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { for (const l of body.split('\n')) if (l) alerts.push(JSON.parse(l)); res.writeHead(200).end(); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/alerts`, alerts, close: () => server.close(),
  })));
}

const config = (url: string) => `
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
filters:
  sshd: program(sshd)
  audit: program(audit)
transforms:
  ssh_fields: { type: parse_regex, pattern: "(?:for (?:invalid user )?|^Invalid user )(?<user>\\\\S+) from (?<src_ip>[0-9A-Fa-f:.]+)" }
  audit_fields: { type: parse_kv }
rules:
  detect: { type: sigma, paths: ["${path.join(REPO, 'rules', 'linux')}/*.yml"] }
destinations:
  siem: { type: http, url: "${url}", mode: ndjson }
log:
  - { from: net, filter: sshd, transform: ssh_fields, to: detect, final: true }
  - { from: net, filter: audit, transform: audit_fields, to: detect, final: true }
  - { from: net, to: detect }
  - { from: detect, to: siem }
`;

async function sendLines(p: Awaited<ReturnType<typeof startPipeline>>, lines: string[]): Promise<void> {
  const ep = endpoint(p, 'net', 'tcp');
  const sock = net.connect(ep.port, ep.host);
  await new Promise((r) => sock.once('connect', r));
  await new Promise<void>((r) => sock.end(lines.join('\n') + '\n', () => r()));
}

describe('Sigma rule pack on the stream', () => {
  test('the shipped rule pack and examples/detect.yaml validate', () => {
    const cfg = loadConfigText(config('http://127.0.0.1:9/x'), path.join(tempDir('bf'), 'c.yaml'));
    assert.equal(cfg.rules.get('detect')!.kind.type, 'sigma');
    const example = loadConfigFile(path.join(REPO, 'examples', 'detect.yaml'));
    assert.equal(example.rules.get('detect')!.kind.build(example.rules.get('detect')!.compiled, { name: 'detect', metrics: new Metrics() }).ruleCount, 7);
  });

  test('brute force: one alert per attacker per window, none for 20 quiet hosts, through a log path', async () => {
    const rnd = prng(1);
    const attackers = ['203.0.113.9', '198.51.100.23', '2001:db8:bad::66'];
    const quiet = Array.from({ length: 20 }, (_, i) => `10.20.0.${10 + i}`);
    const events: { t: number; line: string }[] = [];
    const shapes = [
      (ip: string, port: number) => `Failed password for root from ${ip} port ${port} ssh2`,
      (ip: string, port: number) => `Failed password for invalid user admin from ${ip} port ${port} ssh2`,
      (ip: string, port: number) => `Invalid user oracle from ${ip} port ${port}`,
      (ip: string, port: number) => `Failed password for invalid user test from ${ip} port ${port} ssh2`,
    ];
    // Two attack windows 20 minutes apart: 15 then 12 failures per attacker, a few seconds apart.
    for (const [w, count] of [[0, 15], [1200, 12]] as const) {
      for (const ip of attackers) for (let i = 0; i < count; i++) events.push({ t: w + i * 4 + rnd() * 3, line: shapes[i % shapes.length]!(ip, 40000 + i) });
    }
    // Quiet hosts: a login each, and now and then a mistyped password (never ten in five minutes).
    for (const ip of quiet) {
      events.push({ t: rnd() * 2400, line: `Accepted publickey for deploy from ${ip} port 51000 ssh2: ED25519 SHA256:Zm9vYmFy` });
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) events.push({ t: rnd() * 2400, line: `Failed password for deploy from ${ip} port ${52000 + i} ssh2` });
      events.push({ t: rnd() * 2400, line: `pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)` });
    }
    events.sort((a, b) => a.t - b.t);
    const lines = events.map((e, i) => `<38>1 ${stamp(e.t)} bastion sshd ${3000 + i} - - ${e.line}`);

    const siem = await collector();
    const p = await startPipeline(config(siem.url), tempDir('bf'));
    try {
      await sendLines(p, lines);
      await waitFor(() => siem.alerts.length >= 6, '6 alerts', 20_000);
      // Everything sent has been evaluated before we judge "no more alerts".
      await waitFor(async () => (await p.metrics.value('sluice_rule_events_total', { component: 'detect' })) === lines.length, 'all events evaluated');
      await waitFor(async () => (await p.metrics.value('sluice_events_sent_total', { component: 'siem' })) === siem.alerts.length, 'alerts delivered');
    } finally {
      await p.stop();
      siem.close();
    }
    const bf = siem.alerts.filter((a) => a.message === 'SSH brute force from one address');
    assert.equal(siem.alerts.length, bf.length, `only brute-force alerts: ${siem.alerts.map((a) => a.message).join(', ')}`);
    const per = new Map<string, string[]>();
    for (const a of bf) per.set(a.fields.src_ip, [...(per.get(a.fields.src_ip) ?? []), a.fields.first]);
    assert.deepEqual([...per.keys()].sort(), [...attackers].sort());
    for (const ip of attackers) {
      const firsts = per.get(ip)!.sort();
      assert.equal(firsts.length, 2, `${ip}: one alert per window`);
      assert.ok(firsts[0]! < stamp(120) && firsts[1]! >= stamp(1200), `${ip}: windows ${firsts.join(', ')}`);
    }
    const a = bf[0]!;
    assert.equal(a.severity, 3);
    assert.equal(a.source.name, 'detect');
    assert.equal(a.fields.rule.author, 'sluice project');
    assert.equal(a.fields.rule.id, '8f6e2a10-55c4-4b8e-b7a3-1c9d0e4f6a02');
    assert.deepEqual(a.fields.rule.tags, ['attack.credential-access', 'attack.t1110.001']);
    assert.equal(a.fields.count, 10);
  });

  test('the pack on real shapes: spraying, sudo to root, useradd, a web server shell, a new listener', async () => {
    const siem = await collector();
    const p = await startPipeline(config(siem.url), tempDir('pack'));
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const lines = [
      ...users.map((u, i) => `<38>1 ${stamp(i)} bastion sshd 900 - - Failed password for invalid user ${u} from 192.0.2.77 port ${43000 + i} ssh2`),
      `<85>1 ${stamp(10)} db1 sudo - - - alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt upgrade`,
      `<85>1 ${stamp(11)} db1 sudo - - - alice : TTY=pts/0 ; PWD=/home/alice ; USER=postgres ; COMMAND=/usr/bin/psql`,
      `<86>1 ${stamp(12)} db1 useradd 4242 - - new user: name=backdoor, UID=1002, GID=1002, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0`,
      `<14>1 ${stamp(13)} web1 audit - - - type=SYSCALL msg=audit(1740830413.001:812): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 ppid=1201 pid=1302 auid=4294967295 uid=33 gid=33 euid=33 comm="sh" exe="/usr/bin/dash" key="exec"`,
      `<14>1 ${stamp(14)} web1 audit - - - type=SYSCALL msg=audit(1740830414.001:813): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=1400 auid=1000 uid=1000 comm="bash" exe="/usr/bin/bash" key="exec"`,
      `<14>1 ${stamp(15)} web1 audit - - - type=SYSCALL msg=audit(1740830415.001:814): arch=c000003e syscall=50 success=yes exit=0 ppid=1302 pid=1410 uid=33 comm="nc" exe="/usr/bin/nc.openbsd" key="listen"`,
      `<14>1 ${stamp(16)} web1 audit - - - type=SYSCALL msg=audit(1740830416.001:815): arch=c000003e syscall=50 success=yes exit=0 ppid=1 pid=700 uid=0 comm="nginx" exe="/usr/sbin/nginx" key="listen"`,
    ];
    try {
      await sendLines(p, lines);
      await waitFor(async () => (await p.metrics.value('sluice_rule_events_total', { component: 'detect' })) === lines.length, 'all events evaluated');
      await waitFor(async () => siem.alerts.length >= 5 && (await p.metrics.value('sluice_events_sent_total', { component: 'siem' })) === siem.alerts.length, 'alerts delivered');
    } finally {
      await p.stop();
      siem.close();
    }
    assert.deepEqual(siem.alerts.map((a) => a.message).sort(), [
      'Command run as root through sudo',
      'Local user account created',
      'Process started listening on a socket',
      'SSH password spraying from one address',
      'Web server account started a shell',
    ]);
    const spray = siem.alerts.find((a) => a.message.includes('spraying'))!;
    assert.equal(spray.fields.src_ip, '192.0.2.77');
    assert.equal(spray.fields.count, 5);
  });
});
