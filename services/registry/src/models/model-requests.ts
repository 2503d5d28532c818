import { MODEL_STAGES } from '@flywheel/contracts';
import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Model and alias names travel in URLs and as Kafka keys: keep them plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const histogram = z
  .object({
    name: z.string().min(1),
    bin_edges: z.array(z.number()).min(2),
    counts: z.array(z.number().int().min(0)),
  })
  .refine((h) => h.counts.length === h.bin_edges.length - 1, 'counts must have one element fewer than bin_edges');

export const baselineSchema = z.object({ features: z.array(histogram), score: histogram });

const epochMillis = z.number().int().min(0);

export const createVersionSchema = z
  .object({
    artifact_sha256: z.string().regex(SHA256_HEX, 'lower-case hex sha256'),
    feature_set_version: z.string().min(1),
    feature_names: z.array(z.string().min(1)).min(1),
    metrics: z.record(z.string(), z.number()),
    baseline: baselineSchema,
    training_window_start: epochMillis,
    training_window_end: epochMillis,
    parent_version: z.number().int().min(1).nullish(),
    retrain_request_id: z.string().min(1).nullish(),
    run_id: z.string().min(1).nullish(),
    description: z.string().max(10_000).nullish(),
  })
  .strict();
export type CreateVersionRequest = z.infer<typeof createVersionSchema>;

export const stageSchema = z.enum(MODEL_STAGES);

export const stageChangeSchema = z
  .object({
    stage: stageSchema,
    reason: z.string().max(2_000).nullish(),
    archive_existing: z.boolean().optional(),
  })
  .strict();
export type StageChangeRequest = z.infer<typeof stageChangeSchema>;

export const aliasSchema = z
  .object({ version: z.number().int().min(1), reason: z.string().max(2_000).nullish() })
  .strict();
export type AliasRequest = z.infer<typeof aliasSchema>;

/** Parses a request body or answers 400 naming every bad field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new BadRequestException(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

export function parseName(value: string, what: 'model' | 'alias'): string {
  if (!NAME.test(value)) {
    throw new BadRequestException(`invalid ${what} name ${JSON.stringify(value)}: letters, digits, . _ - (max 128)`);
  }
  return value;
}

export function parseVersion(value: string | undefined, what = 'version'): number {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) {
    throw new BadRequestException(`${what} must be a positive integer`);
  }
  return n;
}
