// `sluice bench`: runs the benchmark runner (dist/bench/run.js, the same as `npm run bench`) as a
// child process with the terminal's stdio, and exits with its exit code.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** dist/bench/run.js of this package: this file runs as dist/src/cli/bench.js. */
const RUNNER = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

interface BenchCliOptions {
  reps?: string;
  target?: string;
  scenarios?: string;
  peers?: string;
  quick?: boolean;
  out?: string;
  maxMinutes?: string;
  setup?: string;
  keep?: boolean;
  list?: boolean;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks (micro benches; sluice vs rsyslog and syslog-ng on the same loggen load) and write bench/RESULTS.md')
    .argument('[scenarios...]', 'peer scenarios (tcp, tls, udp, udp-paced, tcp-octet-sd, tcp-filter-template, …), micro bench names, "micro" or "peers"; none = all')
    .option('-r, --reps <n>', 'repetitions per (receiver, scenario), interleaved (default: 3; 1 with --quick)')
    .option('-t, --target <seconds>', 'target seconds of load per run (default: 8; 3 with --quick)')
    .option('-s, --scenarios <list>', 'peer scenarios, comma separated')
    .option('-p, --peers <list>', 'receivers: rsyslog,syslog-ng,syslog-ng-tuned,sluice (also node-file,node-discard)')
    .option('-q, --quick', '1 short repetition and short micro benches (a few minutes; indicative only)')
    .option('-o, --out <file>', 'results markdown, relative to the repository (default: bench/RESULTS.md)')
    .option('--max-minutes <m>', 'time bound of the peer harness')
    .option('--setup <mode>', 'run bench/peers/setup.sh: auto (only if a peer is missing and running as root), yes, no')
    .option('--keep', 'keep the harness work dir under /tmp')
    .option('--list', 'list scenarios and micro benches, then exit')
    .action(async (scenarios: string[], opts: BenchCliOptions) => {
      if (!fs.existsSync(RUNNER)) {
        process.stderr.write(`sluice bench: ${RUNNER} is missing; build first (npm run build), from a checkout of the repository\n`);
        process.exit(2);
      }
      const args: string[] = [];
      const value = (flag: string, v: string | undefined): void => { if (v !== undefined) args.push(flag, v); };
      value('--reps', opts.reps);
      value('--target', opts.target);
      value('--scenarios', opts.scenarios);
      value('--peers', opts.peers);
      value('--out', opts.out);
      value('--max-minutes', opts.maxMinutes);
      value('--setup', opts.setup);
      if (opts.quick) args.push('--quick');
      if (opts.keep) args.push('--keep');
      if (opts.list) args.push('--list');
      args.push(...scenarios);
      const child = spawn(process.execPath, [RUNNER, ...args], { stdio: 'inherit' });
      // the runner stops its own children (by process group) on SIGINT/SIGTERM; pass them on
      const forward = (sig: NodeJS.Signals) => () => { child.kill(sig); };
      const onInt = forward('SIGINT'), onTerm = forward('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      const code = await new Promise<number>((resolve) => {
        child.on('error', (e) => { process.stderr.write(`sluice bench: ${e.message}\n`); resolve(1); });
        child.on('close', (c, signal) => resolve(c ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
      });
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.exit(code);
    });
}
