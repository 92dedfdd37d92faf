// The `sluice` command line: one verb per job, each with --help.
//
// Each verb's module is imported only when that verb runs (or for the full help), so that
// `sluice run` does not load the store reader, the sender or the verifier: the daemon's idle
// RSS is what its config needs (see README, Performance: memory).

import { Command, CommanderError } from 'commander';
import { describeError, isSluiceError } from '../errors.js';
import { holdStartupHeap, releaseStartupHeap } from '../util/startup-heap.js';

holdStartupHeap(); // until `run` has started its pipeline, or the verb is loaded

type Register = (program: Command) => void;

/** Verb -> its module's register function, in the order `sluice --help` lists them. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run.js')).registerRunCommand,
  reload: async () => (await import('./reload.js')).registerReloadCommand,
  validate: async () => (await import('./validate.js')).registerValidateCommand,
  parse: async () => (await import('./parse.js')).registerParseCommand,
  'import-syslog-conf': async () => (await import('./import-syslog-conf.js')).registerImportSyslogConfCommand,
  send: async () => (await import('./send/index.js')).registerSendCommand,
  bench: async () => (await import('./bench.js')).registerBenchCommand,
  query: async () => (await import('./query.js')).registerQueryCommand,
  verify: async () => (await import('./verify.js')).registerVerifyCommand,
  token: async () => (await import('./token.js')).registerTokenCommand,
  top: async () => (await import('./top.js')).registerTopCommand,
};

try {
  const program = new Command();
  program
    .name('sluice')
    .description('a secure log pipeline: syslog in over UDP/TCP/TLS, routed by filters to files, SIEMs and cloud APIs')
    .showHelpAfterError()
    .exitOverride();
  // A known verb loads only its own module; anything else (help, a typo) registers them all,
  // so help lists every verb and commander can suggest the nearest one.
  const verb = process.argv[2];
  const load = verb !== undefined && Object.hasOwn(COMMANDS, verb) ? [COMMANDS[verb]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(load.map((l) => l()))) register(program);
  if (verb !== 'run') releaseStartupHeap();
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`sluice: ${isSluiceError(e) ? `${e.code}\n${e.message}` : describeError(e)}\n`);
  process.exit(isSluiceError(e) && e.code.startsWith('SLUICE_ERR_CONFIG') ? 78 : 1);
}
