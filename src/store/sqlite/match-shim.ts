// INTERIM evaluator of the query tree, following parse.ts's stated semantics, until the query
// branch's src/store/query/match.ts (compileMatcher, fieldValue) lands; then the reader
// imports that one and this file goes.

import type { EventJson } from '../../event/log-event.js';
import type { FieldRef, Node, Scalar } from '../query/ast.js';
import { words } from '../query/words.js';

type Value = unknown;

export function fieldValue(ev: EventJson, f: FieldRef): Value {
  if (f.kind === 'builtin') {
    switch (f.name) {
      case 'message': return ev.message;
      case 'host': return ev.hostname;
      case 'app': return ev.appname;
      case 'procid': return ev.procid;
      case 'msgid': return ev.msgid;
      case 'facility': return ev.facility;
      case 'severity': return ev.severity;
      case 'source': return ev.source.name;
      case 'transport': return ev.source.transport;
    }
  }
  if (f.kind === 'sd') return ev.structured_data?.[f.id]?.[f.param] ?? null;
  let v: unknown = ev.fields;
  for (const part of f.name.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v ?? null;
}

/** Scalar values of a field (arrays: each element); booleans as "true"/"false". */
function scalars(v: Value): (string | number)[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.flatMap(scalars);
  if (typeof v === 'boolean') return [String(v)];
  if (typeof v === 'number' || typeof v === 'string') return [v];
  return [JSON.stringify(v)];
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

function numeric(v: string | number): number | null {
  if (typeof v === 'number') return v;
  return DECIMAL.test(v) ? Number(v) : null;
}

function cmp(v: string | number, q: Scalar): number | null {
  if (typeof q === 'number') {
    const n = numeric(v);
    return n === null ? null : n - q;
  }
  const s = String(v).toLowerCase();
  return s < q ? -1 : s > q ? 1 : 0;
}

function wildcardRe(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) { re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
    re += c === '*' ? '[^]*' : c === '?' ? '[^]' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}

function hasSequence(ws: string[], seq: string[], lastIsPrefix: boolean): boolean {
  outer: for (let i = 0; i + seq.length <= ws.length; i++) {
    for (let k = 0; k < seq.length; k++) {
      const last = k === seq.length - 1;
      if (last && lastIsPrefix ? !ws[i + k]!.startsWith(seq[k]!) : ws[i + k] !== seq[k]) continue outer;
    }
    return true;
  }
  return false;
}

export function compileMatcher(node: Node): (ev: EventJson) => boolean {
  switch (node.kind) {
    case 'all': return () => true;
    case 'and': { const fs = node.nodes.map(compileMatcher); return (ev) => fs.every((f) => f(ev)); }
    case 'or': { const fs = node.nodes.map(compileMatcher); return (ev) => fs.some((f) => f(ev)); }
    case 'not': { const f = compileMatcher(node.node); return (ev) => !f(ev); }
    case 'word':
    case 'phrase':
    case 'prefix': {
      const seq = node.value.split(' ');
      const f = node.field;
      if (isMessage(f) || node.kind !== 'prefix') {
        if (!isMessage(f)) return (ev) => scalars(fieldValue(ev, f)).some((v) => hasSequence(words(String(v)), seq, false));
        return (ev) => ev.message !== null && hasSequence(words(ev.message), seq, node.kind === 'prefix');
      }
      const pre = node.value;
      return (ev) => scalars(fieldValue(ev, f)).some((v) => String(v).toLowerCase().startsWith(pre));
    }
    case 'wildcard': {
      const re = wildcardRe(node.pattern);
      const f = node.field;
      if (isMessage(f)) return (ev) => ev.message !== null && words(ev.message).some((w) => re.test(w));
      return (ev) => scalars(fieldValue(ev, f)).some((v) => re.test(String(v).toLowerCase()));
    }
    case 'regex': {
      const re = new RegExp(node.pattern, node.flags);
      const f = node.field;
      return (ev) => scalars(fieldValue(ev, f)).some((v) => re.test(String(v)));
    }
    case 'exists': {
      const f = node.field;
      return (ev) => scalars(fieldValue(ev, f)).length > 0;
    }
    case 'equals': {
      const f = node.field;
      const q = node.value;
      return (ev) => scalars(fieldValue(ev, f)).some((v) => (typeof q === 'number' ? numeric(v) === q : String(v).toLowerCase() === q));
    }
    case 'compare': {
      const { field: f, op, value: q } = node;
      return (ev) => scalars(fieldValue(ev, f)).some((v) => {
        const c = cmp(v, q);
        if (c === null) return false;
        return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
      });
    }
    case 'range': {
      const { field: f, low, high } = node;
      return (ev) => scalars(fieldValue(ev, f)).some((v) => {
        const a = cmp(v, low);
        const b = cmp(v, high);
        return a !== null && b !== null && a >= 0 && b <= 0;
      });
    }
  }
}
