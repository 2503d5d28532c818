import { readFileSync } from 'node:fs';
import { alertSeverities } from '@flywheel/contracts';
import { z } from 'zod';

/** Dimensions a dead letter is counted by; rules match and group on them. */
export const DIMENSIONS = ['topic', 'stage', 'kind'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type SeriesLabels = Record<Dimension, string>;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '500ms', '10s', '5m', '1h', '1d' → milliseconds; a plain number is milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION.exec(value.trim());
  if (!m) throw new Error(`'${value}' is not a duration (e.g. 500ms, 10s, 5m, 1h)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
}

const duration = z.union([z.string(), z.number().int().positive()]).transform((value, ctx) => {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error(`'${value}' must be positive`);
    return ms;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const match = z
  .object({ topic: z.string().min(1), stage: z.string().min(1), kind: z.string().min(1) })
  .partial()
  .strict()
  .default({});

const common = {
  name: z
    .string()
    .min(1)
    .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'letters, digits, _ and - only'),
  severity: z.string().min(1).default(alertSeverities.warning),
  /** Which dead letters count (catalog or prefixed topic names both match). */
  match,
  annotations: z.record(z.string(), z.string()).default({}),
  /** How long the condition must stay false before the alert resolves. */
  resolveAfter: duration.default(60_000),
};

const windowed = {
  window: duration,
  /** One alert per distinct value of these dimensions (topic is always included for ratio rules). */
  groupBy: z.array(z.enum(DIMENSIONS)).default(['topic', 'stage', 'kind']),
  threshold: z.number().min(0),
};

const CountRule = z.object({ ...common, ...windowed, type: z.literal('count') }).strict();
const RatioRule = z
  .object({
    ...common,
    ...windowed,
    type: z.literal('ratio'),
    /** Below this many source messages in the window the ratio is not evaluated (0: always). */
    minSourceMessages: z.number().int().min(0).default(0),
  })
  .strict()
  .transform((rule) => ({
    ...rule,
    groupBy: rule.groupBy.includes('topic') ? rule.groupBy : (['topic', ...rule.groupBy] as Dimension[]),
  }));
const FirstSeenRule = z
  .object({ ...common, type: z.literal('first-seen'), resolveAfter: duration.default(3_600_000) })
  .strict();

const ruleSchemas = { count: CountRule, ratio: RatioRule, 'first-seen': FirstSeenRule } as const;

export type CountRule = z.infer<typeof CountRule>;
export type RatioRule = z.infer<typeof RatioRule>;
export type FirstSeenRule = z.infer<typeof FirstSeenRule>;
export type AlertRule = CountRule | RatioRule | FirstSeenRule;
export type WindowedRule = CountRule | RatioRule;

/** Used when no rules are configured: any dead letter alerts, and a new failure kind is announced. */
export const DEFAULT_RULES: readonly unknown[] = [
  { name: 'DeadLettersPresent', type: 'count', threshold: 0, window: '5m', resolveAfter: '5m' },
  { name: 'NewFailureKind', type: 'first-seen', severity: 'info' },
];

// count(kind=schema-violation, stage=enrichment-api) > 10 in 5m
// ratio(topic=events.raw.v1) > 0.01 in 5m
const EXPRESSION = /^\s*(count|ratio)\s*\(([^)]*)\)\s*>\s*([0-9.]+)\s+in\s+(\S+)\s*$/;

/** Expands the `expr` shorthand of a rule into its fields; a rule without `expr` is returned as is. */
function expandExpression(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('expr' in raw)) return raw;
  const { expr, ...rest } = raw as { expr: unknown };
  if (typeof expr !== 'string') throw new Error('expr must be a string');
  const m = EXPRESSION.exec(expr);
  if (!m) throw new Error(`expr '${expr}' is not 'count|ratio(dim=value, ...) > N in <duration>'`);
  const matchFields: Record<string, string> = {};
  for (const part of m[2]
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (!value || !(DIMENSIONS as readonly string[]).includes(key)) {
      throw new Error(`expr '${expr}': '${part}' is not one of ${DIMENSIONS.join('|')}=value`);
    }
    matchFields[key] = value;
  }
  return { type: m[1], match: matchFields, threshold: Number(m[3]), window: m[4], ...rest };
}

export class RuleConfigError extends Error {
  override name = 'RuleConfigError';
}

/**
 * Validates rules; a bad rule throws naming it (its `name`, or its index when it has none), so start-up
 * fails with a message an operator can act on.
 */
export function parseRules(raw: unknown): AlertRule[] {
  if (!Array.isArray(raw)) throw new RuleConfigError('alert rules must be a JSON array of rule objects');
  const rules: AlertRule[] = [];
  const names = new Set<string>();
  raw.forEach((item, index) => {
    const label =
      typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
        ? `rule '${(item as { name: string }).name}'`
        : `rule #${index}`;
    let expanded: unknown;
    try {
      expanded = expandExpression(item);
    } catch (error) {
      throw new RuleConfigError(`${label}: ${(error as Error).message}`);
    }
    const type = (expanded as { type?: unknown } | null)?.type;
    const schema = typeof type === 'string' ? ruleSchemas[type as keyof typeof ruleSchemas] : undefined;
    if (!schema || !Object.hasOwn(ruleSchemas, type as string)) {
      throw new RuleConfigError(`${label} is invalid: type must be one of ${Object.keys(ruleSchemas).join(', ')}`);
    }
    const parsed = schema.safeParse(expanded);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`);
      throw new RuleConfigError(`${label} is invalid: ${issues.join('; ')}`);
    }
    if (names.has(parsed.data.name)) throw new RuleConfigError(`${label}: duplicate rule name`);
    names.add(parsed.data.name);
    rules.push(parsed.data as AlertRule);
  });
  return rules;
}

/** Rules from ALERT_RULES (JSON text) or else ALERT_RULES_FILE (path to JSON), else the defaults. */
export function loadRules(source: { json?: string; file?: string }): AlertRule[] {
  let text: string | undefined = source.json;
  let origin = 'ALERT_RULES';
  if (!text && source.file) {
    origin = `ALERT_RULES_FILE ${source.file}`;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (error) {
      throw new RuleConfigError(`${origin}: cannot read: ${(error as Error).message}`);
    }
  }
  if (!text) return parseRules(DEFAULT_RULES);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RuleConfigError(`${origin} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseRules(raw);
  } catch (error) {
    throw new RuleConfigError(`${origin}: ${(error as Error).message}`);
  }
}

/** Does a dead letter (labels as seen, topic possibly prefixed) fall under a rule's match? */
export function matches(rule: AlertRule, labels: SeriesLabels, prefix: string): boolean {
  const { topic, stage, kind } = rule.match;
  if (stage !== undefined && stage !== labels.stage) return false;
  if (kind !== undefined && kind !== labels.kind) return false;
  if (topic !== undefined && topic !== labels.topic && `${prefix}${topic}` !== labels.topic) return false;
  return true;
}
