// The `sluice` command line: one verb per job, each with --help.

import { Command, CommanderError } from 'commander';
import { describeError, isSluiceError } from '../errors.js';
import { registerBenchCommand } from './bench.js';
import { registerImportSyslogConfCommand } from './import-syslog-conf.js';
import { registerParseCommand } from './parse.js';
import { registerReloadCommand } from './reload.js';
import { registerQueryCommand } from './query.js';
import { registerRunCommand } from './run.js';
import { registerSendCommand } from './send/index.js';
import { registerTokenCommand } from './token.js';
import { registerTopCommand } from './top.js';
import { registerValidateCommand } from './validate.js';
import { registerVerifyCommand } from './verify.js';

const program = new Command();
program
  .name('sluice')
  .description('a secure log pipeline: syslog in over UDP/TCP/TLS, routed by filters to files, SIEMs and cloud APIs')
  .showHelpAfterError()
  .exitOverride();
registerRunCommand(program);
registerReloadCommand(program);
registerValidateCommand(program);
registerParseCommand(program);
registerImportSyslogConfCommand(program);
registerSendCommand(program);
registerBenchCommand(program);
registerQueryCommand(program);
registerVerifyCommand(program);
registerTokenCommand(program);
registerTopCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`sluice: ${isSluiceError(e) ? `${e.code}\n${e.message}` : describeError(e)}\n`);
  process.exit(isSluiceError(e) && e.code.startsWith('SLUICE_ERR_CONFIG') ? 78 : 1);
}
