// What a reload changes: components compared by name and by their validated config.
//
// A component whose config is the same keeps running as it is (sockets, connections,
// buffers); one whose config differs is replaced; names only in the new config start and
// names only in the old one stop. Log paths and filters are always rebuilt: they hold no state.

import type { SluiceConfig } from '../config/load.js';

export interface ComponentChanges {
  kept: string[];
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ReloadPlan {
  sources: ComponentChanges;
  destinations: ComponentChanges;
  /** The api listener moves (restarted). */
  apiChanged: boolean;
  /** Something the running process cannot take over without a restart; the reload is refused. */
  refused: string | null;
}

export function planReload(current: SluiceConfig, next: SluiceConfig): ReloadPlan {
  const refused = current.dataDir !== next.dataDir
    ? `data_dir changed (${current.dataDir} → ${next.dataDir}): buffers and the store live there; restart sluice to move it`
    : null;
  return {
    sources: compare(current.sources, next.sources),
    destinations: compare(current.destinations, next.destinations),
    apiChanged: canonical(current.api) !== canonical(next.api),
    refused,
  };
}

function compare(before: Map<string, { config: unknown }>, after: Map<string, { config: unknown }>): ComponentChanges {
  const c: ComponentChanges = { kept: [], added: [], removed: [], changed: [] };
  for (const [name, b] of before) {
    const a = after.get(name);
    if (a === undefined) c.removed.push(name);
    else if (canonical(a.config) === canonical(b.config)) c.kept.push(name);
    else c.changed.push(name);
  }
  for (const name of after.keys()) if (!before.has(name)) c.added.push(name);
  return c;
}

/** JSON with object keys sorted, so key order in the file does not count as a change. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
    return Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
