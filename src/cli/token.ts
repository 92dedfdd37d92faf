// `sluice token create|revoke|list`: API tokens in <data_dir>/tokens.json (hashed); a running
// daemon picks up changes without a restart.

import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { loadConfigFile, loadConfigText } from '../config/load.js';
import { SluiceError } from '../errors.js';
import { TokenStore, type Role } from '../web/auth/tokens.js';

function store(opts: { config?: string; dataDir?: string }): TokenStore {
  if (opts.dataDir) return new TokenStore(path.resolve(opts.dataDir));
  const cfg = opts.config ? loadConfigFile(opts.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME);
  // The daemon resolves data_dir against its working directory; so does this.
  return new TokenStore(path.resolve(cfg.dataDir));
}

export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('API and web UI tokens: create, revoke, list (stored hashed under data_dir)');
  const common = (c: Command) => c
    .option('-c, --config <file>', 'YAML config file (for its data_dir)')
    .option('--data-dir <dir>', 'data_dir directly, instead of reading a config');
  common(token.command('create'))
    .description('make a token; prints it alone on the last line (only this once: only its hash is stored)')
    .option('--role <role>', 'read (search, tail, export) or admin (also tokens and settings)', 'read')
    .option('--name <name>', 'a name to revoke it by (default: <role>-<id>)')
    .action((opts: { config?: string; dataDir?: string; role: string; name?: string }) => {
      if (opts.role !== 'read' && opts.role !== 'admin') throw new SluiceError('SLUICE_ERR_USAGE', `--role must be read or admin, not ${JSON.stringify(opts.role)}`);
      const s = store(opts);
      const { record, token: t } = s.create(opts.role as Role, opts.name);
      process.stdout.write(`created ${record.role} token ${record.name} (id ${record.id}) in ${s.file}\n${t}\n`);
    });
  common(token.command('revoke'))
    .description('revoke a token by id or name; a running daemon refuses it from its next request')
    .argument('<id-or-name>')
    .action((idOrName: string, opts: { config?: string; dataDir?: string }) => {
      const r = store(opts).revoke(idOrName);
      if (!r) throw new SluiceError('SLUICE_ERR_USAGE', `no token with id or name ${JSON.stringify(idOrName)} (see sluice token list)`);
      process.stdout.write(`revoked ${r.role} token ${r.name} (id ${r.id})\n`);
    });
  common(token.command('list'))
    .description('list tokens: id, name, role, created (never the tokens themselves)')
    .option('--format <format>', 'text or json', 'text')
    .action((opts: { config?: string; dataDir?: string; format: string }) => {
      const list = store(opts).list().map(({ hash: _h, ...r }) => r);
      if (opts.format === 'json') process.stdout.write(list.map((r) => JSON.stringify(r)).join('\n') + (list.length ? '\n' : ''));
      else for (const r of list) process.stdout.write(`${r.id}  ${r.role.padEnd(5)}  ${r.name}  ${r.created_at}\n`);
    });
}
