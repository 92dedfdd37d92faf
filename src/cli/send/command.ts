// The `sluice send <url>` command line: options and help, the summary line, the exit code.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { describeError } from '../../errors.js';
import { facilityCode, severityCode } from '../../event/syslog-names.js';
import { SendError } from './errors.js';
import type { SendOptions, SendReport } from './run.js';
import { send } from './run.js';

interface RawOptions {
  count?: number;
  rate: number;
  size: number;
  format: 'rfc5424' | 'rfc3164';
  framing?: 'lf' | 'octet';
  connections: number;
  message?: string;
  hostname?: string;
  appname?: string;
  facility?: number;
  severity?: number;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  servername?: string;
  progress?: boolean;
  duration?: number;
  runId?: string;
  confirmEvery?: number;
  giveUp: number;
}

function integer(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

function code(lookup: (name: string) => number | undefined, what: string): (v: string) => number {
  return (v) => {
    const n = lookup(v);
    if (n === undefined) throw new InvalidArgumentError(`unknown ${what} "${v}"`);
    return n;
  };
}

/** The last line of every run, also after a failure: what was achieved up to the end. */
export function formatSummary(url: string, r: SendReport): string {
  const s = r.elapsedMs / 1000;
  const mbps = s > 0 ? r.bytes / 1e6 / s : 0;
  const resent = r.resent !== undefined ? ` (${r.resent} resent after failures)` : '';
  return `sent ${r.sent} messages${resent} (${r.bytes} bytes) to ${url} in ${s.toFixed(3)} s: ${Math.round(r.rate)} msg/s, ${mbps.toFixed(2)} MB/s`;
}

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description(
      'Send test syslog messages: a load generator and test client. Each message carries seq=N ' +
        '(0-based, zero-padded, unique within the run) and run=ID so a receiver can count gaps and duplicates.',
    )
    .argument('<url>', 'udp://host:port, tcp://host:port, tls://host:port or unix:///path/to/socket')
    .addOption(new Option('-n, --count <n>', 'messages to send over all connections; 0 = until --duration (default: 1, or 0 when --duration is given)').argParser(integer(0)))
    .addOption(new Option('-r, --rate <msg/s>', 'messages per second over all connections, paced by schedule; 0 = unlimited').argParser(nonNegative).default(0))
    .addOption(
      new Option('-s, --size <bytes>', 'pad each message to exactly this many bytes (lf framing: incl. the trailing LF, as loggen -s; octet framing: the octet count, without the "N " prefix; udp: the datagram); 0 = no padding')
        .argParser(integer(0))
        .default(0),
    )
    .addOption(new Option('-f, --format <format>', 'message format').choices(['rfc5424', 'rfc3164']).default('rfc5424'))
    .addOption(new Option('--framing <framing>', 'stream framing (RFC 6587): lf = newline, octet = octet counting; default octet for tls:// (RFC 5425), lf for tcp:// and unix://; udp:// sends bare datagrams, or with a trailing LF if lf').choices(['lf', 'octet']))
    .addOption(new Option('-c, --connections <n>', 'parallel connections sharing the count').argParser(integer(1)).default(1))
    .addOption(new Option('-d, --duration <seconds>', 'hard bound on the sending time (closing may take a few seconds more)').argParser(nonNegative))
    .addOption(new Option('-m, --message <text>', 'message text after seq=N run=ID (before padding)'))
    .addOption(new Option('--hostname <name>', 'HOSTNAME field (default: this host)'))
    .addOption(new Option('--appname <name>', 'APP-NAME / TAG field').default('sluice-send'))
    .addOption(new Option('--facility <name|0-23>', 'facility, e.g. user, auth, local0 or a number (default: user)').argParser(code(facilityCode, 'facility')))
    .addOption(new Option('--severity <name|0-7>', 'severity, e.g. info, err or a number (default: info)').argParser(code(severityCode, 'severity')))
    .addOption(new Option('--ca <file>', 'tls: PEM CA certificate(s) to verify the server against (default: the system CAs)'))
    .addOption(new Option('--cert <file>', 'tls: PEM client certificate, for receivers that require one'))
    .addOption(new Option('--key <file>', 'tls: PEM private key of --cert'))
    .addOption(new Option('--insecure', 'tls: do not verify the server certificate'))
    .addOption(new Option('--servername <name>', 'tls: server name for SNI and verification (default: the URL host unless an IP address)'))
    .addOption(new Option('--progress', 'one line per second on stderr (default when stderr is a terminal)'))
    .addOption(new Option('--no-progress', 'no progress lines'))
    .addOption(new Option('--confirm-every <n>', 'at-least-once over tcp/tls/unix: after every n messages close gracefully and wait for the receiver to close (sluice does once they are queued); on failure reconnect and send them again (duplicates are possible, counted as resent)').argParser(integer(1)))
    .addOption(new Option('--give-up <seconds>', 'with --confirm-every: stop retrying a segment after this long').argParser(nonNegative).default(120))
    .addOption(new Option('--run-id <id>', 'the run=ID carried by every message (default: 8 random hex characters)'))
    .addHelpText(
      'after',
      '\nThe last line on stderr is always: sent N messages (B bytes) to URL in S s: R msg/s, M MB/s.\n' +
        'The exit code is non-zero when a connection could not be made or broke.\n\n' +
        'Examples:\n' +
        '  sluice send tcp://127.0.0.1:5140 -m "hello"\n' +
        '  sluice send tcp://127.0.0.1:5140 -n 1000000 -s 256\n' +
        '  sluice send tls://localhost:6514 --ca ca.pem --cert client.pem --key client.key -n 10000 -r 1000\n' +
        '  sluice send udp://127.0.0.1:5140 -n 0 -d 10 -r 50000',
    )
    .action(async (url: string, raw: RawOptions) => {
      const opts: SendOptions = {
        // A test client sends one message; with --duration the time is the bound.
        count: raw.count ?? (raw.duration !== undefined ? 0 : 1),
        rate: raw.rate,
        size: raw.size,
        format: raw.format,
        framing: raw.framing,
        connections: raw.connections,
        message: raw.message,
        hostname: raw.hostname,
        appname: raw.appname,
        facility: raw.facility,
        severity: raw.severity,
        ca: raw.ca,
        cert: raw.cert,
        key: raw.key,
        insecure: raw.insecure,
        servername: raw.servername,
        progress: raw.progress ?? process.stderr.isTTY === true,
        durationMs: raw.duration !== undefined ? raw.duration * 1000 : undefined,
        runId: raw.runId,
        confirmEvery: raw.confirmEvery,
        giveUpMs: raw.giveUp * 1000,
      };
      try {
        const report = await send(url, opts);
        process.stderr.write(formatSummary(url, report) + '\n');
      } catch (e) {
        process.stderr.write(`sluice send: ${describeError(e)}\n`);
        if (e instanceof SendError && e.report) process.stderr.write(formatSummary(url, e.report) + '\n');
        process.exitCode = 1;
      }
    });
}
