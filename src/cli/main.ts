// The `sluice` command line: one verb per job, each with --help.

import { Command, CommanderError } from 'commander';
import { describeError, isSluiceError } from '../errors.js';
import { registerBenchCommand } from './bench.js';
import { registerImportSyslogConfCommand } from './import-syslog-conf.js';
import { registerParseCommand } from './parse.js';
import { registerRunCommand } from './run.js';
import { registerSendCommand } from './send/index.js';
import { registerTopCommand } from './top.js';
import { registerValidateCommand } from './validate.js';

const program = new Command();
program
  .name('sluice')
  .description('a secure log pipeline: syslog in over UDP/TCP/TLS, routed by filters to files, SIEMs and cloud APIs')
  .showHelpAfterError()
  .exitOverride();
registerRunCommand(program);
registerValidateCommand(program);
registerParseCommand(program);
registerImportSyslogConfCommand(program);
registerSendCommand(program);
registerBenchCommand(program);
registerTopCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`sluice: ${isSluiceError(e) ? `${e.code}\n${e.message}` : describeError(e)}\n`);
  process.exit(isSluiceError(e) && e.code.startsWith('SLUICE_ERR_CONFIG') ? 78 : 1);
}
