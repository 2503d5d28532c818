import { RISK_TIERS } from '@flywheel/contracts';
import { z } from 'zod';
import type { AccountRef, MerchantRef } from '../enrichment/enrichment.model';

/**
 * Validation of reference rows as they arrive over HTTP (JSON bodies, NDJSON lines, CSV rows). CSV gives
 * strings only, so numbers and times are coerced: times are epoch millis or an ISO-8601 date/time.
 */

const epochMillis = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const millis = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(millis)) {
    ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO-8601 date/time' });
    return z.NEVER;
  }
  return millis;
});

const id = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const country = z
  .string()
  .trim()
  .transform((c) => c.toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO-3166-1 alpha-2 code'));
const currency = z
  .string()
  .trim()
  .transform((c) => c.toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code'));

export const AccountRow = z.object({
  account_id: id,
  home_country: country,
  opened_at: epochMillis,
  segment: z.string().trim().min(1, 'must not be empty'),
});
export type AccountRow = z.infer<typeof AccountRow>;

export const MerchantRow = z.object({
  merchant_id: id,
  mcc: z
    .string()
    .trim()
    .regex(/^\d{4}$/, 'must be four digits'),
  category: z.string().trim().min(1, 'must not be empty'),
  risk_tier: z
    .string()
    .trim()
    .transform((t) => t.toUpperCase())
    .pipe(z.enum(RISK_TIERS, { message: `must be one of ${RISK_TIERS.join(', ')}` })),
  country,
});
export type MerchantRow = z.infer<typeof MerchantRow>;

export const RateRow = z.object({
  currency,
  rate_to_base: z.coerce
    .number({ message: 'must be a number' })
    .refine((n) => Number.isFinite(n) && n > 0, 'must be a number > 0'),
  /** Omitted: the rate applies to every event time (valid_from 0). */
  valid_from: z.preprocess((v) => (v === undefined || v === null || v === '' ? 0 : v), epochMillis),
});
export type RateRow = z.infer<typeof RateRow>;

export const REFERENCE_KINDS = ['accounts', 'merchants', 'rates'] as const;
export type ReferenceKind = (typeof REFERENCE_KINDS)[number];

export const ROW_SCHEMAS = { accounts: AccountRow, merchants: MerchantRow, rates: RateRow } as const;

export interface FieldError {
  field: string | null;
  reason: string;
}

/** Parses one row; errors name the field (null when the row as a whole is wrong). */
export function parseRow<K extends ReferenceKind>(
  kind: K,
  input: unknown,
): { ok: true; row: z.infer<(typeof ROW_SCHEMAS)[K]> } | { ok: false; errors: FieldError[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: null, reason: 'must be a JSON object' }] };
  }
  const result = ROW_SCHEMAS[kind].safeParse(input);
  if (result.success) return { ok: true, row: result.data as z.infer<(typeof ROW_SCHEMAS)[K]> };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      field: issue.path.length > 0 ? issue.path.join('.') : null,
      reason: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
    })),
  };
}

export function accountRef(row: AccountRow, updatedAt: number): AccountRef {
  return { ...row, updated_at: updatedAt };
}

export function merchantRef(row: MerchantRow, updatedAt: number): MerchantRef {
  return { ...row, updated_at: updatedAt };
}
