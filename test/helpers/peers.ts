// Real peers for interop tests (rsyslog, syslog-ng, loggen, logger, openssl): find them or skip.
//
// Under SLUICE_REQUIRE_ALL=1 (CI) a missing peer fails the test instead of skipping it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';

const PEERS_ROOT = process.env.PEERS_ROOT ?? '/tmp/peers-root';

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export interface Rsyslog { bin: string; moddir: string; env: NodeJS.ProcessEnv }

export function findRsyslogd(): Rsyslog | null {
  const sys = which('rsyslogd');
  if (sys) return { bin: sys, moddir: '/usr/lib/x86_64-linux-gnu/rsyslog', env: {} };
  const bin = path.join(PEERS_ROOT, 'rsyslog/usr/sbin/rsyslogd');
  if (!fs.existsSync(bin)) return null;
  return {
    bin,
    moddir: path.join(PEERS_ROOT, 'rsyslog/usr/lib/x86_64-linux-gnu/rsyslog'),
    env: { LD_LIBRARY_PATH: path.join(PEERS_ROOT, 'rsyslog/usr/lib/x86_64-linux-gnu') },
  };
}

export interface SyslogNg { bin: string; loggen: string; env: NodeJS.ProcessEnv }

export function findSyslogNg(): SyslogNg | null {
  const bin = which('syslog-ng');
  const loggen = which('loggen');
  if (bin && loggen) return { bin, loggen, env: {} };
  const r = path.join(PEERS_ROOT, 'syslog-ng');
  if (!fs.existsSync(path.join(r, 'usr/sbin/syslog-ng'))) return null;
  return { bin: path.join(r, 'usr/sbin/syslog-ng'), loggen: path.join(r, 'usr/bin/loggen'), env: { SYSLOGNG_PREFIX: path.join(r, 'usr'), LD_LIBRARY_PATH: path.join(r, 'usr/lib/syslog-ng') } };
}

export function findCommand(cmd: string): string | null {
  return which(cmd);
}

/**
 * Returns true if the peer is there. Otherwise skips the test with the reason, or fails it
 * under SLUICE_REQUIRE_ALL=1.
 */
export function havePeer(t: TestContext, name: string, found: unknown, why = `${name} is not installed (run ../shared/bench/peers/setup.sh or .ci/run)`): boolean {
  if (found) return true;
  if (process.env.SLUICE_REQUIRE_ALL === '1') throw new Error(`SLUICE_REQUIRE_ALL=1: ${why}`);
  // Reason: a developer machine may lack the peer; CI installs it and sets SLUICE_REQUIRE_ALL=1.
  t.skip(why);
  return false;
}
