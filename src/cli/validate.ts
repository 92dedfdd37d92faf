// `sluice validate -c FILE`: check a config without starting anything.

import path from 'node:path';
import type { Command } from 'commander';
import { checkAccess, lookupUser } from '../config/access-check.js';
import { loadConfigFile } from '../config/load.js';
import { SluiceError } from '../errors.js';

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config file: schema, references, filters, templates, port clashes, and that the files it names can be read and written')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--user <name>', 'check file access as this user (the one the daemon runs as; default: the user running validate)')
    .action((opts: { config: string; user?: string }) => {
      const cfg = loadConfigFile(opts.config);
      let user = null;
      try {
        user = opts.user ? lookupUser(opts.user) : null;
      } catch (e) {
        throw new SluiceError('SLUICE_ERR_USAGE', `--user: ${(e as Error).message}`);
      }
      const problems = checkAccess(cfg, process.cwd(), user);
      if (problems.length) {
        throw new SluiceError('SLUICE_ERR_CONFIG_ACCESS', problems.map((p) => `${path.basename(opts.config)}: ${p}`).join('\n'));
      }
      process.stdout.write(`${opts.config}: valid (${cfg.sources.size} sources, ${cfg.destinations.size} destinations, ${cfg.filters.size} filters, ${cfg.log.length} log paths; files readable and writable${user ? ` by ${user.name}` : ''})\n`);
    });
}
