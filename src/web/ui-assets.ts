// The web UI's static files: hand-written HTML/JS/CSS from src/web/ui and uPlot from node_modules.
//
// Read once when the server starts; no build step, no CDN, so the UI works offline.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** src/web/ui, whether this module runs from src (tsx) or dist/src (tsc). */
function uiDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const d of [path.join(here, 'ui'), path.resolve(here, '../../../src/web/ui')]) {
    if (fs.existsSync(path.join(d, 'index.html'))) return d;
  }
  throw new Error(`web UI files not found beside ${here}`);
}

export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const dir = uiDir();
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) out.set(name, { body: fs.readFileSync(path.join(dir, name)), type });
  }
  const require = createRequire(import.meta.url);
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  out.set('uPlot.iife.min.js', { body: fs.readFileSync(path.join(uplot, 'uPlot.iife.min.js')), type: TYPES['.js']! });
  out.set('uPlot.min.css', { body: fs.readFileSync(path.join(uplot, 'uPlot.min.css')), type: TYPES['.css']! });
  return out;
}
