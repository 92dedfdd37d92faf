// Must show 5: `sluice top` against a running daemon, in a real pseudo-terminal (tmux), read from the screen.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { havePeer } from '../helpers/peers.js';
import { parseMetrics, renderTop } from '../../src/cli/top.js';
import { freePort, SLUICE_BIN, spawnSluice, writeConfig } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const hasTmux = (() => { try { execFileSync('tmux', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } })();

describe('sluice top', () => {
  test('renders rates from two scrapes', () => {
    const a = parseMetrics('sluice_events_received_total{component="net"} 100\nsluice_events_sent_total{component="out"} 90\nsluice_buffer_bytes{component="out"} 50\nsluice_buffer_capacity_bytes{component="out"} 200\n');
    const b = parseMetrics('sluice_events_received_total{component="net"} 300\nsluice_events_sent_total{component="out"} 290\nsluice_buffer_bytes{component="out"} 50\nsluice_buffer_capacity_bytes{component="out"} 200\n');
    const screen = renderTop('u', b, a, 2).lines.join('\n');
    assert.match(screen, /^net\s+100\.0\s+300\b/m);
    assert.match(screen, /^out\s+100\.0\s+290\s+0\s+25\.0%/m);
  });

  test('a live view of a running daemon in a tmux pseudo-terminal; q quits', async (t) => {
    if (!havePeer(t, 'tmux', hasTmux)) return;
    const dir = tempDir('top');
    fs.writeFileSync(path.join(dir, 'rules.yml'), 'title: Root login refused\nid: top-test-1\nauthor: sluice tests\nlogsource:\n  service: sshd\ndetection:\n  k:\n    - "Failed password for root"\n  condition: k\nlevel: high\n');
    const apiPort = await freePort();
    const cfg = writeConfig(dir, `
api: { listen: "http://127.0.0.1:${apiPort}" }
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
rules:
  detect: { type: sigma, paths: [rules.yml] }
destinations:
  archive: { type: file, path: "${dir}/all.log" }
  alerts: { type: file, path: "${dir}/alerts.log" }
log:
  - { from: net, to: [archive, detect] }
  - { from: detect, to: alerts }
`);
    const daemon = await spawnSluice(['run', '-c', cfg], { cwd: dir });
    const socket = `sluice-top-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    try {
      const ep = daemon.endpoint('net', 'tcp');
      const s = net.connect(ep.port, ep.host);
      await new Promise((r) => s.once('connect', r));
      const lines = Array.from({ length: 40 }, (_, i) => `<38>Mar  1 12:00:${String(i % 60).padStart(2, '0')} bastion sshd[77]: Failed password for ${i % 4 === 0 ? 'root' : 'deploy'} from 192.0.2.${i} port 5${i} ssh2`);
      s.end(lines.join('\n') + '\n');
      await waitFor(() => fs.existsSync(path.join(dir, 'alerts.log')) && fs.readFileSync(path.join(dir, 'alerts.log'), 'utf8').split('\n').filter(Boolean).length === 10, '10 alerts written');
      tmux('new-session', '-d', '-s', 'top', '-x', '132', '-y', '40', `${process.execPath} ${SLUICE_BIN} top -c ${cfg} -i 0.5`);
      let screen = '';
      await waitFor(() => {
        screen = tmux('capture-pane', '-p', '-t', 'top');
        return /^net\s+\S+\s+40\b/m.test(screen) && /detect\/top-test-1\s+10\b/.test(screen);
      }, 'top to show the source total and the alerts', 15_000, 200);
      assert.match(screen, new RegExp(`sluice top\\s+http://127\\.0\\.0\\.1:${apiPort}/metrics`));
      assert.match(screen, /^archive\s+\S+\s+40\s+0\s+0\.0%/m, screen);
      assert.match(screen, /^alerts\s+\S+\s+10\b/m, screen);
      assert.match(screen, /^detect\s+\S+\s+10\s+10\b/m, screen); // 40 events in, 10 matches, 10 alerts
      tmux('send-keys', '-t', 'top', 'q');
      await waitFor(() => { try { tmux('has-session', '-t', 'top'); return false; } catch { return true; } }, 'top to quit on q', 10_000, 100);
    } finally {
      try { tmux('kill-server'); } catch { /* already gone */ }
      await daemon.stop();
    }
  });
});
