// `sluice validate -c FILE`: check a config without starting anything.

import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config file: schema, references, filters, templates, port clashes')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .action((opts: { config: string }) => {
      const cfg = loadConfigFile(opts.config);
      process.stdout.write(`${opts.config}: valid (${cfg.sources.size} sources, ${cfg.destinations.size} destinations, ${cfg.filters.size} filters, ${cfg.log.length} log paths)\n`);
    });
}
