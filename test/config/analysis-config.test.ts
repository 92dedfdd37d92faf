// Config keys of transforms and rule sets: what validates, and what is refused at file:line:col.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfigText } from '../../src/config/load.js';
import { SLUICE_BIN } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';

const base = (extra: string) => `
sources:
  net: { type: syslog, listen: [udp://127.0.0.1:0] }
destinations:
  out: { type: stdout }
${extra}`;

function problems(yaml: string, dir = tempDir('cfg')): string {
  try {
    loadConfigText(yaml, path.join(dir, 'sluice.yaml'));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

describe('config: transforms and rules', () => {
  test('transforms, a path transform list, a rule set fed by one path and routed by another', () => {
    const dir = tempDir('cfg');
    fs.writeFileSync(path.join(dir, 'r.yml'), 'title: t\ndetection:\n  k: [boom]\n  condition: k\n');
    const cfg = loadConfigText(base(`
transforms:
  kv: { type: parse_kv }
  hide: { type: redact, mode: hmac, key: "0123456789abcdef0123" }
rules:
  detect: { type: sigma, paths: [r.yml] }
  floods: { type: threshold, title: flood, count: 100, window: 1m, key: "\${HOST}" }
log:
  - { from: net, transform: [kv, hide], to: [out, detect, floods] }
  - { from: [detect, floods], to: out }
`), path.join(dir, 'sluice.yaml'));
    assert.deepEqual(cfg.log[0]!.transform, ['kv', 'hide']);
    assert.deepEqual([...cfg.rules.keys()], ['detect', 'floods']);
  });

  test('unknown transform type and name, bad keys, hmac without key: each at its line', () => {
    const msg = problems(base(`
transforms:
  a: { type: parse_xml }
  b: { type: redact, mode: hmac }
  c: { type: parse_regex, pattern: "(\\\\d+)" }
log:
  - { from: net, transform: [a, nope], to: out }
`));
    assert.match(msg, /sluice\.yaml:8:\d+: unknown transform type "parse_xml"/);
    assert.match(msg, /sluice\.yaml:9:\d+: missing required key "key"/);
    assert.match(msg, /sluice\.yaml:10:\d+: .*named group/);
    assert.match(msg, /sluice\.yaml:12:\d+: unknown transform "nope"/);
  });

  test('a rule file with an unsupported construct is refused at its own file and line; rule paths that match nothing too', () => {
    const dir = tempDir('cfg');
    fs.writeFileSync(path.join(dir, 'bad.yml'), 'title: t\nlogsource:\n  service: sshd\ndetection:\n  sel:\n    message|base64offset: x\n  condition: sel\n');
    const msg = problems(base('rules:\n  detect: { type: sigma, paths: [bad.yml, "missing/*.yml"] }\nlog:\n  - { from: net, to: detect }\n'), dir);
    assert.match(msg, new RegExp(`${path.join(dir, 'bad.yml').replace(/[.\\/]/g, '\\$&')}:6:5: base64offset goes with contains`));
    assert.match(msg, /sluice\.yaml:\d+:\d+: rule path missing\/\*\.yml matches no file/);
  });

  test('alerts cannot feed a rule set; a rule set cannot share a source name', () => {
    const dir = tempDir('cfg');
    fs.writeFileSync(path.join(dir, 'r.yml'), 'title: t\ndetection:\n  k: [boom]\n  condition: k\n');
    assert.match(problems(base('rules:\n  detect: { type: sigma, paths: [r.yml] }\nlog:\n  - { from: detect, to: detect }\n'), dir), /cannot feed a rule set/);
    assert.match(problems(base('rules:\n  net: { type: sigma, paths: [r.yml] }\n'), dir), /has the name of a source/);
  });

  test('sluice validate exits non-zero and names the rule file and line', () => {
    const dir = tempDir('cfg');
    fs.writeFileSync(path.join(dir, 'r.yml'), 'title: t\ndetection:\n  sel:\n    a: 1\n  condition: sel | count() > 3\n');
    fs.writeFileSync(path.join(dir, 'sluice.yaml'), base('rules:\n  detect: { type: sigma, paths: [r.yml] }\nlog:\n  - { from: net, to: detect }\n'));
    let out = '';
    let code = 0;
    try { execFileSync(process.execPath, [SLUICE_BIN, 'validate', '-c', path.join(dir, 'sluice.yaml')], { encoding: 'utf8', stdio: 'pipe' }); } catch (e) {
      code = (e as { status: number }).status;
      out = (e as { stderr: string }).stderr;
    }
    assert.equal(code, 78);
    assert.match(out, /r\.yml:5:3: aggregation .* not supported/);
  });
});
