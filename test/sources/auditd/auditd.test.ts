// Must show (issue 16, 3): audit records in the kernel's formats — SYSCALL + EXECVE with split
// long arguments + CWD + two PATHs + PROCTITLE + EOE, interleaved events, a user record, an
// event whose EOE never comes — become the expected events, field by field.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../../src/config/load.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { parseRecord } from '../../../src/sources/auditd/record.js';
import { AuditAssembler, type AssembledEvent } from '../../../src/sources/auditd/assembler.js';
import { readLines, sleep, tempDir, waitFor } from '../../helpers/wait.js';

const running: Pipeline[] = [];
after(async () => { for (const p of running) await p.stop(); });

const GS = '\x1d';
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

// Event 100 (execve, split argument continued in a second EXECVE record) interleaved with
// event 101 (connect, on node web1), a user record, then event 103 without its EOE.
const LINES = [
  `type=SYSCALL msg=audit(1700000000.123:100): arch=c000003e syscall=59 success=yes exit=0 a0=55d5 a1=55d6 a2=55d7 a3=0 items=2 ppid=1000 pid=1234 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="bash" exe="/usr/bin/bash" subj=unconfined key="exec"${GS}ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" GID="root"`,
  `node=web1 type=SYSCALL msg=audit(1700000000.200:101): arch=c000003e syscall=42 success=no exit=-111 a0=3 a1=7ffc a2=10 a3=0 items=0 ppid=1 pid=555 auid=4294967295 uid=33 gid=33 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" key=(null)`,
  `type=EXECVE msg=audit(1700000000.123:100): argc=3 a0="bash" a1="-c" a2_len=20 a2[0]=${hex('echo hello')}`,
  `node=web1 type=SOCKADDR msg=audit(1700000000.200:101): saddr=020000357F0000010000000000000000`,
  `type=EXECVE msg=audit(1700000000.123:100): a2[1]=${hex(' world!!!!')}`,
  `type=CWD msg=audit(1700000000.123:100): cwd="/home/alice"`,
  `node=web1 type=SOCKADDR msg=audit(1700000000.200:101): saddr=020000357F0000010000000000000000`,
  `type=PATH msg=audit(1700000000.123:100): item=0 name="/usr/bin/bash" inode=1234 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1700000000.123:100): item=1 name=${hex('/lib/ld linux.so.2')} inode=99 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`,
  `type=USER_LOGIN msg=audit(1700000001.000:102): pid=777 uid=0 auid=1000 ses=4 subj=unconfined msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=? addr=192.0.2.7 terminal=/dev/pts/1 res=success'${GS}UID="root" AUID="alice" ID="alice"`,
  `type=PROCTITLE msg=audit(1700000000.123:100): proctitle=${hex('bash\0-c\0echo hello world!!!!')}`,
  `node=web1 type=PROCTITLE msg=audit(1700000000.200:101): proctitle="curl"`,
  `type=EOE msg=audit(1700000000.123:100): `,
  `node=web1 type=EOE msg=audit(1700000000.200:101): `,
  `this is not an audit record`,
  `type=PATH msg=audit(1700000000.123:100): item=2 name="/late" inode=5 dev=08:01 mode=0100644 nametype=NORMAL`,
  `type=SYSCALL msg=audit(1700000002.500:103): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd a2=0 a3=0 items=2 ppid=1 pid=42 auid=0 uid=0 comm="cat" exe="/usr/bin/cat" key="passwd"`,
  `type=PATH msg=audit(1700000002.500:103): item=0 name="/etc/shadow" inode=7 dev=08:01 mode=0100640 nametype=NORMAL`,
];

describe('auditd source', () => {
  test('record values: quoted, hex, (null), nested msg, enriched tail', () => {
    const r = parseRecord(LINES[0]!)!;
    assert.equal(r.type, 'SYSCALL');
    assert.equal(r.serial, 100);
    assert.equal(r.fields.a0, '55d5', 'SYSCALL registers stay as written');
    assert.equal(r.fields.exe, '/usr/bin/bash');
    assert.deepEqual(r.enriched, { ARCH: 'x86_64', SYSCALL: 'execve', AUID: 'alice', UID: 'root', GID: 'root' });
    const n = parseRecord(LINES[1]!)!;
    assert.equal(n.node, 'web1');
    assert.equal(n.fields.key, null);
    const u = parseRecord(LINES[9]!)!;
    assert.equal(u.fields.op, 'login');
    assert.equal(u.fields.addr, '192.0.2.7');
    assert.equal(u.fields.exe, '/usr/sbin/sshd');
  });

  test('without EOE (auditd does not log it), a syscall event ends at its PROCTITLE; a later EOE is expected, not a duplicate', () => {
    const out: AssembledEvent<number>[] = [];
    const asm = new AuditAssembler<number>({ timeoutMs: 3_600_000, maxRecords: 100, maxBytes: 1 << 20, remember: 16, maxOpen: 100 }, (e) => out.push(e));
    const noEoe = LINES.slice(0, 12).filter((l) => !l.includes(':101)'));
    noEoe.forEach((l, i) => asm.push(parseRecord(l)!, i, 0));
    const exec = out.find((e) => e.key.endsWith(':100'))!;
    assert.equal(exec.reason, 'proctitle');
    assert.deepEqual(exec.records.map((r) => r.type), ['SYSCALL', 'EXECVE', 'EXECVE', 'CWD', 'PATH', 'PATH', 'PROCTITLE']);
    asm.push(parseRecord(LINES[12]!)!, 99, 0);
    assert.equal(asm.duplicates, 0, 'the EOE after a PROCTITLE end');
    assert.deepEqual(out.at(-1)!.tags, [99], 'its tag is settled');
    // A PROCTITLE with no SYSCALL of its serial does not end anything: it waits (here, to stop).
    asm.push(parseRecord('type=PROCTITLE msg=audit(1700000009.000:200): proctitle="x"')!, 100, 0);
    assert.equal(asm.pending, 1);
  });

  test('records joined into events field by field; orphans, duplicates, lost records and timeouts counted', async () => {
    const dir = tempDir('auditd');
    const log = path.join(dir, 'audit.log');
    fs.writeFileSync(log, '');
    const out = path.join(dir, 'out.ndjson');
    const metrics = new Metrics();
    const yaml = JSON.stringify({
      api: false, data_dir: path.join(dir, 'data'),
      sources: { audit: { type: 'auditd', path: log, read_from: 'beginning', event_timeout: '300ms', poll_interval: '20ms' } },
      destinations: { out: { type: 'file', path: out, format: 'json' } },
      log: [{ from: 'audit', to: 'out' }],
    });
    const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir, metrics });
    running.push(p);
    // Written in pieces, as auditd flushes.
    for (let i = 0; i < LINES.length; i += 4) {
      fs.appendFileSync(log, LINES.slice(i, i + 4).join('\n') + '\n');
      await sleep(30);
    }
    await waitFor(() => readLines(out).length >= 5, 'five events');
    await sleep(300);
    const evs = readLines(out).map((l) => JSON.parse(l));
    const byId = new Map<string, any[]>();
    for (const e of evs) byId.set(e.fields.audit.id, [...(byId.get(e.fields.audit.id) ?? []), e]);
    assert.equal(evs.length, 5, evs.map((e) => e.fields.audit.id).join(' '));

    const [exec, orphan] = byId.get('1700000000.123:100')!;
    assert.equal(exec.timestamp, '2023-11-14T22:13:20.123Z');
    assert.equal(exec.appname, 'auditd');
    assert.equal(exec.procid, '1234');
    assert.equal(exec.msgid, 'SYSCALL');
    assert.equal(exec.fields.audit.records, 7, 'EOE ends the event, it is not one of its records');
    assert.equal(exec.fields.audit.complete, true);
    assert.equal(exec.fields.syscall.syscall, '59');
    assert.equal(exec.fields.syscall.name, 'execve');
    assert.equal(exec.fields.syscall.auid, '1000');
    assert.equal(exec.fields.syscall.key, 'exec');
    assert.deepEqual(exec.fields.execve, { argc: 3, args: ['bash', '-c', 'echo hello world!!!!'], command: 'bash -c echo hello world!!!!' });
    assert.equal(exec.fields.cwd, '/home/alice');
    assert.deepEqual(exec.fields.paths.map((x: any) => [x.item, x.name, x.inode, x.nametype]), [['0', '/usr/bin/bash', '1234', 'NORMAL'], ['1', '/lib/ld linux.so.2', '99', 'NORMAL']]);
    assert.deepEqual(exec.fields.proctitle, ['bash', '-c', 'echo hello world!!!!']);
    assert.equal(exec.fields.enriched.AUID, 'alice');
    assert.equal(exec.fields.enriched.OUID, 'root');
    assert.deepEqual(exec.fields.records.map((r: any) => r.type), ['SYSCALL', 'EXECVE', 'EXECVE', 'CWD', 'PATH', 'PATH', 'PROCTITLE', 'EOE'].filter((t) => t !== 'EOE'));
    assert.equal(exec.fields.records[1].a0, 'bash', 'raw per-record fields stay for Sigma rules');
    assert.equal(exec.fields.audit.lost_records, undefined);
    assert.match(exec.message, /^execve by auid=1000 uid=0 exe=\/usr\/bin\/bash cmd=bash -c echo hello world!!!! key=exec$/);

    assert.equal(orphan.fields.audit.orphan, true);
    assert.equal(orphan.fields.paths[0].name, '/late');

    const [conn] = byId.get('1700000000.200:101')!;
    assert.equal(conn.hostname, 'web1');
    assert.equal(conn.fields.audit.records, 3, 'the duplicate SOCKADDR was dropped');
    assert.deepEqual(conn.fields.sockaddr, { saddr: '020000357F0000010000000000000000', family: 'inet', port: 53, addr: '127.0.0.1' });
    assert.equal(conn.fields.syscall.success, 'no');
    assert.equal(conn.fields.syscall.key, null);
    assert.deepEqual(conn.fields.proctitle, ['curl']);

    const [login] = byId.get('1700000001.000:102')!;
    assert.equal(login.msgid, 'USER_LOGIN');
    assert.equal(login.fields.user_login.op, 'login');
    assert.equal(login.fields.user_login.addr, '192.0.2.7');
    assert.equal(login.fields.enriched.AUID, 'alice');
    assert.equal(login.message, 'USER_LOGIN op=login exe=/usr/sbin/sshd hostname=? addr=192.0.2.7 terminal=/dev/pts/1 res=success');

    const [open] = byId.get('1700000002.500:103')!;
    assert.equal(open.fields.audit.complete, false);
    assert.equal(open.fields.audit.timeout, true);
    assert.equal(open.fields.audit.lost_records, 1, 'items=2 but one PATH');
    assert.equal(open.fields.paths[0].name, '/etc/shadow');

    const err = (t: string) => metrics.value('sluice_errors_total', { component: 'audit', error_type: t });
    assert.equal(await err('bad_record'), 1);
    assert.equal(await err('orphan_record'), 1);
    assert.equal(await err('eoe_timeout'), 1);
    assert.equal(await err('lost_records'), 1);
    assert.equal(await metrics.value('sluice_events_dropped_total', { component: 'audit', reason: 'duplicate' }), 1);
    await p.stop();
  });

  test('the checkpoint stays before an event still waiting for its EOE: a restart completes it', async () => {
    const dir = tempDir('auditd-ckpt');
    const log = path.join(dir, 'audit.log');
    const out = path.join(dir, 'out.ndjson');
    const yaml = JSON.stringify({
      api: false, data_dir: path.join(dir, 'data'),
      sources: { audit: { type: 'auditd', path: log, read_from: 'beginning', event_timeout: '1h', poll_interval: '20ms' } },
      destinations: { out: { type: 'file', path: out, format: 'json' } },
      log: [{ from: 'audit', to: 'out' }],
    });
    const startIt = async () => {
      const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir });
      running.push(p);
      return p;
    };
    fs.writeFileSync(log, LINES[9] + '\n');
    let p = await startIt();
    await waitFor(() => readLines(out).length === 1, 'the user record');
    fs.appendFileSync(log, [LINES[1], LINES[3]].join('\n') + '\n');
    await sleep(400);
    await p.stop();
    running.splice(running.indexOf(p), 1);
    const ck = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'checkpoints', 'audit.json'), 'utf8'));
    assert.equal(ck.files[0].offset, LINES[9]!.length + 1, 'checkpoint after the user record, before the open event');
    fs.appendFileSync(log, [LINES[11], LINES[13]].join('\n') + '\n');
    p = await startIt();
    await waitFor(() => readLines(out).length === 2, 'the completed event');
    const e = JSON.parse(readLines(out)[1]!);
    assert.equal(e.fields.audit.id, '1700000000.200:101');
    assert.equal(e.fields.audit.records, 3);
    assert.equal(e.fields.audit.complete, true);
  });

  test('audispd af_unix socket (string format): the same records joined the same way', async () => {
    const dir = tempDir('auditd-sock');
    const sockPath = path.join(dir, 'audispd_events');
    const clients: net.Socket[] = [];
    const server = net.createServer((c) => { clients.push(c); c.write(LINES.slice(0, 14).join('\n') + '\n'); });
    await new Promise<void>((r) => server.listen(sockPath, r));
    const out = path.join(dir, 'out.ndjson');
    const yaml = JSON.stringify({
      api: false, data_dir: path.join(dir, 'data'),
      sources: { audit: { type: 'auditd', socket: sockPath } },
      destinations: { out: { type: 'file', path: out, format: 'json' } },
      log: [{ from: 'audit', to: 'out' }],
    });
    const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir });
    running.push(p);
    await waitFor(() => readLines(out).length >= 3, 'three events from the socket');
    const ids = readLines(out).map((l) => JSON.parse(l).fields.audit.id).sort();
    assert.deepEqual(ids, ['1700000000.123:100', '1700000000.200:101', '1700000001.000:102']);
    await p.stop();
    running.splice(running.indexOf(p), 1);
    for (const c of clients) c.destroy();
    await new Promise((r) => server.close(r));
  });
});
