// Config schema of the file destination.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import { templateString } from '../../template/schema.js';
import { DEFAULT_LINE_TEMPLATE } from '../../template/template.js';
import { outerShape } from '../outer.js';

const mode = (def: number) =>
  z.union([z.number().int(), z.string().regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as "0640"')])
    .default(def)
    .transform((v) => (typeof v === 'number' ? v : parseInt(v, 8)));

export const fileDestinationSchema = z.object({
  type: z.literal('file'),
  path: templateString().describe('file path template, e.g. "data/${HOST}/${YEAR}-${MONTH}-${DAY}.log"; macro values cannot leave the directory'),
  format: z.enum(['template', 'json']).default('template').describe('template: the line template; json: the JSON event of DESIGN.md, one per line'),
  template: templateString().default(DEFAULT_LINE_TEMPLATE).describe('line template when format is template; the default is "${ISODATE} ${HOST} ${PROGRAM}[${PID}]: ${MSG}\\n" (no "[]" without a PID)'),
  fsync: z.boolean().default(false).describe('fsync after every batch (slower; survives power loss)'),
  create_dirs: z.boolean().default(true).describe('create missing directories'),
  dir_mode: mode(0o750).describe('mode of directories it creates (octal string, e.g. "0750")'),
  file_mode: mode(0o640).describe('mode of files it creates (octal string, e.g. "0640")'),
  max_open_files: z.number().int().positive().default(256).describe('open file handles kept at most (least recently used are closed)'),
  idle_close: duration().default(60_000).describe('close a file not written for this long'),
  batch_events: z.number().int().positive().default(8192).describe('events written per batch at most'),
  ...outerShape,
}).strict();

export type FileDestinationConfig = z.infer<typeof fileDestinationSchema>;
