// Type=notify: `sluice run` under NOTIFY_SOCKET tells systemd it is ready, and reloading then
// ready again on SIGHUP. The socket is a real AF_UNIX datagram socket (python3 holds it) and
// the messages go through the real systemd-notify.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { freePort, REPO, spawnSluice, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { findCommand, havePeer } from '../helpers/peers.js';
import { tempDir, waitFor } from '../helpers/wait.js';

let sluice: SluiceProcess | null = null;
const children: { kill(): void }[] = [];
after(async () => { await sluice?.stop(); for (const c of children) c.kill(); });

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
`;

test('READY=1 with MAINPID after start; RELOADING=1 then READY=1 on SIGHUP', async (t: TestContext) => {
  if (!havePeer(t, 'systemd-notify', findCommand('systemd-notify')) || !havePeer(t, 'python3', findCommand('python3'))) return;
  const dir = tempDir('notify');
  const sock = path.join(dir, 'notify.sock');
  const got: string[] = [];
  const py = spawn('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(py);
  py.stdout.on('data', (d: Buffer) => got.push(...d.toString().split('\n').filter(Boolean)));
  await waitFor(() => got.includes('bound'), 'the notify socket');
  const cfg = writeConfig(dir, `data_dir: ./state\napi: false\nsources:\n  net: { type: syslog, listen: ["tcp://127.0.0.1:${await freePort()}"] }\n`);
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir, env: { NOTIFY_SOCKET: sock } });
  await waitFor(() => got.some((l) => l.includes('READY=1')), 'READY=1');
  assert.ok(got.some((l) => l.includes(`MAINPID=${sluice!.pid}`) && l.includes('READY=1')), got.join('\n'));
  sluice.proc.kill('SIGHUP');
  await waitFor(() => got.some((l) => l.includes('STATUS=config generation 2')), 'READY after the reload');
  const reloading = got.findIndex((l) => l.includes('RELOADING=1'));
  const ready = got.findIndex((l) => l.includes('STATUS=config generation 2'));
  assert.ok(reloading > 0 && reloading < ready, got.join('\n'));
});

test('examples/sluice.service passes systemd-analyze verify', (t: TestContext) => {
  const analyze = findCommand('systemd-analyze');
  if (!havePeer(t, 'systemd-analyze', analyze)) return;
  const r = spawnSync(analyze!, ['verify', path.join(REPO, 'examples/sluice.service')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /sluice\.service:\d+: /, 'no warnings about the unit\'s lines');
});
