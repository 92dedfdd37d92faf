// `sluice run`: start the daemon on a config file or the embedded default, until a signal.

import type { Command } from 'commander';
import { loadConfigFile, loadConfigText } from '../config/load.js';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import { Pipeline } from '../pipeline/pipeline.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the daemon (without -c: syslog on udp/tcp 127.0.0.1:5140 into files under ./data)')
    .option('-c, --config <file>', 'YAML config file')
    .action(async (opts: { config?: string }) => {
      const config = opts.config ? loadConfigFile(opts.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME);
      const pipeline = await Pipeline.start(config);
      log('info', 'sluice', 'started', { config: config.file, pid: process.pid });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log('warn', 'sluice', `second ${signal}: exiting without waiting`);
          process.exit(1);
        }
        stopping = true;
        log('info', 'sluice', `${signal}: stopping (sources first, then draining destinations)`);
        pipeline.stop().then(
          () => { log('info', 'sluice', 'stopped'); process.exit(0); },
          (e) => { log('error', 'sluice', 'stop failed', { error: describeError(e) }); process.exit(1); },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        log('info', 'sluice', 'SIGHUP: reopening files');
        void pipeline.reopen();
      });
    });
}
