// The transform registry: every transform type sluice knows, with its schema and builder.

import { parseJsonKind } from './parse-json.js';
import { parseKvKind } from './parse-kv.js';
import { parseRegexKind } from './parse-regex.js';
import { redactKind } from './redact/index.js';
import { sampleKind } from './sample.js';
import { removeKind, renameKind, setKind } from './set-fields.js';
import { throttleKind } from './throttle.js';
import type { TransformKind } from './types.js';

export type { Transform, TransformContext, TransformKind } from './types.js';

export const TRANSFORMS: TransformKind[] = [
  parseJsonKind,
  parseKvKind,
  parseRegexKind,
  setKind,
  renameKind,
  removeKind,
  redactKind,
  throttleKind,
  sampleKind,
];

export function transformKind(type: string): TransformKind | undefined {
  return TRANSFORMS.find((k) => k.type === type);
}
