// `sluice import-syslog-conf FILE`: print the sluice config equivalent to a classic syslog.conf.

import fs from 'node:fs';
import type { Command } from 'commander';
import { SluiceError } from '../errors.js';
import { importSyslogConf } from '../filter/syslog-conf.js';

export function registerImportSyslogConfCommand(program: Command): void {
  program
    .command('import-syslog-conf')
    .description('print a sluice config equivalent to a syslog.conf (selectors, files, @forwarding); warnings on stderr')
    .argument('<file>', 'syslog.conf to read')
    .option('--dialect <dialect>', 'auto (from the file\'s markers; Linux when it has none), bsd (a later selector replaces the levels of the facilities it names, as FreeBSD syslogd) or linux (selectors add up, as sysklogd/rsyslog)', 'auto')
    .action((file: string, opts: { dialect: string }) => {
      if (opts.dialect !== 'auto' && opts.dialect !== 'bsd' && opts.dialect !== 'linux') throw new SluiceError('SLUICE_ERR_USAGE', `--dialect must be auto, bsd or linux, not ${JSON.stringify(opts.dialect)}`);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new SluiceError('SLUICE_ERR_USAGE', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
      }
      const r = importSyslogConf(text, file, { dialect: opts.dialect as 'auto' | 'bsd' | 'linux' });
      process.stderr.write(`reading ${file} as ${r.dialect === 'bsd' ? 'BSD syslogd' : 'Linux (sysklogd/rsyslog)'}${r.marker ? `: ${r.marker}` : opts.dialect === 'auto' ? '' : ' (--dialect)'}\n`);
      process.stdout.write(r.yaml);
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    });
}
