// `sluice run`: start the daemon on a config file or the embedded default, until a signal.
//
// SIGHUP re-reads the config and applies the difference (see Pipeline.reload); an invalid
// config keeps the running one. Either way files are reopened (logrotate's postrotate).
// The daemon's PID and the outcome of the last reload live under data_dir, where
// `sluice reload` finds them.

import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile, loadConfigText, type SluiceConfig } from '../config/load.js';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { releaseStartupHeap } from '../util/startup-heap.js';
import { removePidFile, writePidFile, writeReloadStatus } from './daemon-files.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the daemon (without -c: syslog on udp/tcp 127.0.0.1:5140 into files under ./data)')
    .option('-c, --config <file>', 'YAML config file')
    .action(async (opts: { config?: string }) => {
      const load = (): SluiceConfig => (opts.config ? loadConfigFile(opts.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME));
      const config = load();
      let pipeline: Pipeline;
      try {
        pipeline = await Pipeline.start(config);
      } finally {
        releaseStartupHeap(); // start-up is over: V8 may size the young generation for the load
      }
      const dataDir = path.resolve(config.dataDir);
      writePidFile(dataDir);
      log('info', 'sluice', 'started', { config: config.file, pid: process.pid });
      notifySystemd('READY=1');
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log('warn', 'sluice', `second ${signal}: exiting without waiting`);
          process.exit(1);
        }
        stopping = true;
        log('info', 'sluice', `${signal}: stopping (sources first, then draining destinations)`);
        pipeline.stop().then(
          () => { removePidFile(dataDir); log('info', 'sluice', 'stopped'); process.exit(0); },
          (e) => { log('error', 'sluice', 'stop failed', { error: describeError(e) }); process.exit(1); },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        if (stopping) return;
        log('info', 'sluice', 'SIGHUP: re-reading the config and reopening files');
        void reload(pipeline, load, dataDir);
      });
    });
}

/**
 * Under systemd's Type=notify (NOTIFY_SOCKET set), tells it through systemd-notify; the unit
 * needs NotifyAccess=all since the message comes from that child (examples/sluice.service).
 */
let notified: Promise<void> = Promise.resolve();

function notifySystemd(...lines: string[]): void {
  if (!process.env.NOTIFY_SOCKET) return;
  // One at a time, so systemd sees RELOADING=1 before the READY=1 that ends it.
  notified = notified.then(() => new Promise<void>((resolve) => {
    execFile('systemd-notify', ['--no-block', `--pid=${process.pid}`, ...lines], (e) => {
      if (e) log('warn', 'sluice', 'NOTIFY_SOCKET is set but systemd-notify failed', { error: e.message });
      resolve();
    });
  }));
}

async function reload(pipeline: Pipeline, load: () => SluiceConfig, dataDir: string): Promise<void> {
  notifySystemd('RELOADING=1');
  try {
    const r = await pipeline.reload(load());
    const changes = (c: { added: string[]; removed: string[]; changed: string[] }) =>
      [...c.added.map((n) => `+${n}`), ...c.removed.map((n) => `-${n}`), ...c.changed.map((n) => `~${n}`)].join(' ') || 'none';
    log('info', 'sluice', 'config reloaded', { generation: r.generation, sources: changes(r.sources), destinations: changes(r.destinations) });
    writeReloadStatus(dataDir, { ok: true, generation: r.generation });
    notifySystemd('READY=1', `STATUS=config generation ${r.generation}`);
  } catch (e) {
    pipeline.metrics.configLastReloadFailure.set(Date.now() / 1000);
    log('error', 'sluice', 'reload refused; the running config stays', { error: describeError(e) });
    writeReloadStatus(dataDir, { ok: false, generation: pipeline.generation, error: describeError(e) });
    await pipeline.reopen().catch(() => {});
    notifySystemd('READY=1', `STATUS=reload refused, generation ${pipeline.generation} running`);
  }
}
