// Config schema of the S3 source (CloudTrail log files in a bucket or a local directory).

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import type { SourceInfo } from '../index.js';

export const s3SourceSchema = z.object({
  type: z.literal('s3'),
  bucket: z.string().min(1).optional().describe('bucket to read (CloudTrail: the trail\'s bucket)'),
  prefix: z.string().default('').describe('key prefix, e.g. "AWSLogs/123456789012/CloudTrail/eu-west-1/"'),
  directory: z.string().optional().describe('read such files from a local directory (recursively) instead of a bucket'),
  endpoint: z.string().url().optional().describe('S3 endpoint URL for S3-compatible servers (path-style requests are then used)'),
  region: z.string().default('us-east-1').describe('AWS region of the bucket'),
  force_path_style: z.boolean().optional().describe('path-style requests (default: true when endpoint is set)'),
  access_key_id: z.string().optional().describe('access key (use ${env.NAME}); default: the AWS SDK\'s credential chain'),
  secret_access_key: z.string().optional().describe('secret key (use ${env.NAME})'),
  format: z.enum(['cloudtrail', 'ndjson']).default('cloudtrail').describe('cloudtrail: {"Records": [...]} files, one event per record; ndjson: one JSON object per line'),
  poll_interval: duration().default(60_000).describe('how often the bucket (or directory) is listed for new objects'),
  max_object_bytes: size().default(512 * 1024 * 1024).describe('largest object (after gunzip); larger ones are skipped and counted'),
  objects_in_flight: z.number().int().positive().default(4).describe('objects read whose records are not yet taken by every destination, at most'),
}).strict().superRefine((cfg, ctx) => {
  if (!cfg.bucket === !cfg.directory) ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'give either bucket (S3) or directory (local files)' });
  if (!cfg.access_key_id !== !cfg.secret_access_key) ctx.addIssue({ code: 'custom', path: ['access_key_id'], message: 'access_key_id and secret_access_key go together' });
});

export type S3SourceConfig = z.infer<typeof s3SourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const s3SourceInfo: SourceInfo = {
  type: 's3',
  description: 'objects in an S3 bucket (or a local directory): CloudTrail log files, one event per record; objects done are checkpointed after delivery',
  schema: s3SourceSchema,
  listens: () => [],
};
