// `sluice reload [-c FILE]`: validate the config, signal the running daemon, report its answer.

import path from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile, loadConfigText } from '../config/load.js';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { SluiceError } from '../errors.js';
import { readPid, readReloadStatus } from './daemon-files.js';

const ANSWER_TIMEOUT_MS = 30_000;

export function registerReloadCommand(program: Command): void {
  program
    .command('reload')
    .description('re-read the config of the running daemon and apply the difference (as SIGHUP); an invalid config is reported and the running one stays')
    .option('-c, --config <file>', 'the config file the daemon runs (to check it and find its data_dir)')
    .action(async (opts: { config?: string }) => {
      // Checked here first, so the user sees file:line:col at once (exit 78).
      const config = opts.config ? loadConfigFile(opts.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME);
      const dataDir = path.resolve(config.dataDir);
      const pid = readPid(dataDir);
      if (pid === null) throw new SluiceError('SLUICE_ERR_USAGE', `no running sluice found: ${path.join(dataDir, 'sluice.pid')} is missing (is the daemon running with this config's data_dir?)`);
      const before = readReloadStatus(dataDir)?.at ?? 0;
      try {
        process.kill(pid, 'SIGHUP');
      } catch (e) {
        throw new SluiceError('SLUICE_ERR_USAGE', `cannot signal sluice (PID ${pid} from ${path.join(dataDir, 'sluice.pid')}): ${(e as Error).message}`);
      }
      const end = Date.now() + ANSWER_TIMEOUT_MS;
      while (Date.now() < end) {
        const s = readReloadStatus(dataDir);
        if (s && s.at > before) {
          if (s.ok) { process.stdout.write(`reloaded: config generation ${s.generation}\n`); return; }
          process.stderr.write(`reload refused, generation ${s.generation} keeps running:\n${s.error}\n`);
          process.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new SluiceError('SLUICE_ERR_RELOAD', `sluice (PID ${pid}) did not answer the reload within ${ANSWER_TIMEOUT_MS / 1000} s; see its log`);
    });
}
