// Config typos: `sluice validate` and `sluice run` exit 78 naming FILE:LINE:COL and what was expected, and never listen.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { SLUICE_BIN, freePort } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';

const T = { timeout: 30_000 };
const EX_CONFIG = 78;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs `node bin/sluice.js ...args` to completion (killed after 15 s). */
function sluice(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}


function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(false); });
    c.once('error', () => resolve(true));
  });
}

/** The valid base config (line numbers below refer to it). */
function baseConfig(port: number): string {
  return [
    'api: false', //                                                   1
    'data_dir: ./data', //                                             2
    'sources:', //                                                     3
    '  net:', //                                                       4
    '    type: syslog', //                                             5
    `    listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`, // 6
    'filters:', //                                                     7
    '  errors: level(err..emerg)', //                                  8
    'destinations:', //                                                9
    '  out: { type: file, path: out.log }', //                         10
    'log:', //                                                         11
    '  - { from: net, filter: errors, to: out }', //                   12
    '',
  ].join('\n');
}

interface Case {
  id: string;
  what: string;
  /** Edits the base text. */
  edit: (text: string, port: number) => string;
  /** Line and the token whose first column the message must name. */
  line: number;
  at: string;
  code: string;
  /** What the message must say (expected value, suggestion). */
  says: RegExp[];
}

const CASES: Case[] = [
  {
    id: 'a', what: 'unknown key "lisen"', edit: (t) => t.replace('    listen:', '    lisen:'),
    line: 6, at: 'lisen', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/unknown key "lisen"/, /did you mean "listen"\?/],
  },
  {
    id: 'b', what: 'unknown source type "sylsog"', edit: (t) => t.replace('type: syslog', 'type: sylsog'),
    line: 5, at: 'sylsog', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/unknown source type "sylsog"/, /did you mean "syslog"\?/],
  },
  {
    id: 'c', what: 'port 99999', edit: (t, port) => t.replace(`tcp://127.0.0.1:${port}`, 'tcp://127.0.0.1:99999'),
    line: 6, at: 'tcp://127.0.0.1:99999', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/99999/, /0-65535/],
  },
  {
    id: 'd', what: 'a log path naming an undefined destination', edit: (t) => t.replace('to: out }', 'to: outt }'),
    line: 12, at: 'outt', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/unknown destination "outt"/, /did you mean "out"\?/],
  },
  {
    id: 'e', what: 'a filter syntax error', edit: (t) => t.replace('level(err..emerg)', 'level(err..emerg) and (host("x"'),
    line: 8, at: 'level(', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/filter "errors"/, /expected "?\)"?/],
  },
  {
    id: 'f', what: 'an unset ${env.NOPE}', edit: (t) => t.replace('path: out.log', 'path: "${env.NOPE}/out.log"'),
    line: 10, at: '"${env.NOPE}', code: 'SLUICE_ERR_CONFIG_INVALID', says: [/NOPE/, /not set/],
  },
  {
    // `type` indented deeper than `listen`: the misaligned item is listen on line 6, column 5.
    id: 'g', what: 'broken YAML indentation', edit: (t) => t.replace('    type: syslog', '      type: syslog'),
    line: 6, at: 'listen', code: 'SLUICE_ERR_CONFIG_YAML', says: [/YAML/, /same column|indent/i],
  },
  {
    id: 'h', what: 'two sources on the same tcp port',
    edit: (t, port) => t.replace('filters:', `  net2:\n    type: syslog\n    listen: [tcp://127.0.0.1:${port}]\nfilters:`)
      .replace('from: net,', 'from: [net, net2],'),
    line: 9, at: `tcp://127.0.0.1:`, code: 'SLUICE_ERR_CONFIG_INVALID', says: [/clashes with source net/, /same tcp port/],
  },
];

describe('config errors', () => {
  const dir = tempDir('config-errors');
  let port = 0;
  before(async () => { port = await freePort(); });

  it('the base config is valid (so each case below has exactly one typo)', T, async () => {
    const file = path.join(dir, 'base.yaml');
    fs.writeFileSync(file, baseConfig(port));
    const r = await sluice(['validate', '-c', file], dir, { NOPE: undefined });
    assert.equal(r.code, 0, `expected the base config valid; stderr:\n${r.stderr}`);
    assert.match(r.stdout, /valid \(1 sources, 1 destinations, 1 filters, 1 log paths; files readable and writable\)/, 'expected a one-line summary on stdout');
  });

  for (const c of CASES) {
    it(`(${c.id}) ${c.what}: validate and run exit ${EX_CONFIG} with FILE:LINE:COL and what was expected; run does not listen`, T, async () => {
      const file = path.join(dir, `${c.id}.yaml`);
      const text = c.edit(baseConfig(port), port);
      assert.notEqual(text, baseConfig(port), 'expected the edit to change the config');
      fs.writeFileSync(file, text);
      const lineText = text.split('\n')[c.line - 1]!;
      const col = lineText.indexOf(c.at) + 1;
      assert.ok(col > 0, `test bug: "${c.at}" not on line ${c.line}: ${lineText}`);
      const where = `${file}:${c.line}:${col}: `;

      const v = await sluice(['validate', '-c', file], dir, { NOPE: undefined });
      assert.equal(v.code, EX_CONFIG, `expected validate to exit ${EX_CONFIG}; got ${v.code}, stderr:\n${v.stderr}`);
      assert.equal(v.stdout, '', 'expected nothing on stdout for an invalid config');
      assert.ok(v.stderr.startsWith(`sluice: ${c.code}\n`), `expected stderr to open with "sluice: ${c.code}", got:\n${v.stderr}`);
      const line = v.stderr.split('\n').find((l) => l.startsWith(where));
      assert.ok(line, `expected a message at ${where.slice(0, -2)} (line ${c.line}: ${JSON.stringify(lineText)}), got:\n${v.stderr}`);
      for (const re of c.says) assert.match(line, re, `expected the message at ${c.line}:${col} to say ${re}`);

      const r = await sluice(['run', '-c', file], dir, { NOPE: undefined });
      assert.notEqual(r.code, 0, `expected run to fail; stderr:\n${r.stderr}`);
      assert.equal(r.code, EX_CONFIG, `expected run to exit ${EX_CONFIG} (EX_CONFIG) like validate`);
      assert.equal(r.stderr, v.stderr, 'expected run to print the same message as validate');
      assert.doesNotMatch(r.stderr, /listening|started/, 'expected run to start nothing');
      assert.ok(await refusesConnections(port), `expected nothing listening on tcp ${port} after run failed`);
    });
  }
});
