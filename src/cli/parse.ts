// `sluice parse`: syslog on stdin to one JSON event per message on stdout.

import type { Command } from 'commander';
import { StreamFramer, type Framing } from '../codec/framing/stream-framer.js';
import { parseSyslog, type ParseMode } from '../codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource } from '../event/log-event.js';
import { isUtf8 } from 'node:buffer';
import { SluiceError } from '../errors.js';

const STDIN_SOURCE: EventSource = { name: 'stdin', transport: 'stdin', address: null, port: null, tlsPeer: null };

export interface ParseResult {
  lines: string[];
  errors: number;
}

/** Parses `input` as the CLI does; exported for tests and for reuse by other commands. */
export function parseInput(input: Buffer, format: ParseMode, framing: Framing | 'none', maxBytes: number, now = Date.now()): ParseResult {
  const out: ParseResult = { lines: [], errors: 0 };
  const one = (buf: Buffer, s: number, e: number, truncated: boolean) => {
    const ev = new LogEvent(STDIN_SOURCE, now);
    const problem = parseSyslog(ev, buf, s, e, format);
    if (problem !== null) {
      out.errors++;
      out.lines.push(JSON.stringify({ error: `not ${format}: ${problem}`, input: buf.toString('utf8', s, e) }));
      return;
    }
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    if (!isUtf8(buf.subarray(s, e))) ev.flags |= EventFlag.INVALID_UTF8;
    out.lines.push(JSON.stringify(ev.toJSON()));
  };
  if (framing === 'none') {
    let e = input.length;
    while (e > 0 && (input[e - 1] === 0x0a || input[e - 1] === 0x0d)) e--;
    if (e > 0) one(input, 0, e, false);
    return out;
  }
  const framer = new StreamFramer(maxBytes, 'truncate', framing, one, (problem, detail) => {
    out.errors++;
    out.lines.push(JSON.stringify({ error: `${problem}: ${detail}` }));
  });
  framer.push(input);
  framer.end();
  return out;
}

export function registerParseCommand(program: Command): void {
  program
    .command('parse')
    .description('read syslog from stdin, write one JSON event per message (exit 1 if any message failed a strict --format)')
    .option('--format <format>', 'auto | rfc5424 | rfc3164 | none', 'auto')
    .option('--framing <framing>', 'auto (per frame) | lf | octet | none (all of stdin is one message)', 'auto')
    .option('--max-message-bytes <n>', 'longer messages are truncated', '1048576')
    .action(async (opts: { format: string; framing: string; maxMessageBytes: string }) => {
      if (!['auto', 'rfc5424', 'rfc3164', 'none'].includes(opts.format)) throw new SluiceError('SLUICE_ERR_USAGE', `--format must be auto, rfc5424, rfc3164 or none, not ${JSON.stringify(opts.format)}`);
      if (!['auto', 'lf', 'octet', 'none'].includes(opts.framing)) throw new SluiceError('SLUICE_ERR_USAGE', `--framing must be auto, lf, octet or none, not ${JSON.stringify(opts.framing)}`);
      const max = Number(opts.maxMessageBytes);
      if (!Number.isInteger(max) || max <= 0) throw new SluiceError('SLUICE_ERR_USAGE', '--max-message-bytes must be a positive integer');
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const r = parseInput(Buffer.concat(chunks), opts.format as ParseMode, opts.framing as Framing | 'none', max);
      if (r.lines.length) process.stdout.write(r.lines.join('\n') + '\n');
      if (r.errors > 0) process.exitCode = 1;
    });
}
