import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/** Epoch millis or an ISO-8601 time. */
export const timeParam = z.union([z.number(), z.string().min(1)]).transform((value, ctx) => {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `'${value}' is neither epoch millis nor an ISO-8601 time` });
    return z.NEVER;
  }
  return ms;
});

/** Comma-separated list or repeated parameter. */
export const listParam = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export function parseOrBadRequest<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new BadRequestException({
      error: 'invalid request',
      issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    });
  }
  return parsed.data;
}
