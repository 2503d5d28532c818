import { databaseEnv, httpEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';
import { type AlertRule, loadRules } from './rules/alert-rules';

const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

const Webhook = z
  .object({
    url: z.url(),
    format: z.enum(['alertmanager', 'plain']).default('alertmanager'),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const webhooks = z
  .string()
  .default('[]')
  .transform((text, ctx) => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
    const parsed = z.array(Webhook).safeParse(raw);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: parsed.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; '),
      });
      return z.NEVER;
    }
    return parsed.data;
  });

const AlerterEnv = z.object({
  ...httpEnv,
  HTTP_PORT: httpEnv.HTTP_PORT.default(8088),
  ...kafkaEnv,
  ...schemaRegistryEnv,
  ...databaseEnv,
  ...observabilityEnv,
  /** Consumer group of the DLQ consumer (every instance of the alerter shares it). */
  ALERTER_GROUP_ID: z.string().min(1).default('dead-letter-alerter'),
  /** How often the `*.dlq` topic list is re-read to pick up new DLQ topics. */
  DLQ_REFRESH_INTERVAL_MS: ms(10_000),
  /** Read DLQ topics the group has no offsets for from their start (a new DLQ's first messages count). */
  DLQ_FROM_BEGINNING: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Width of one bucket of the sliding windows. */
  WINDOW_BUCKET_MS: ms(10_000),
  /** How often rules are evaluated. */
  ALERT_EVAL_INTERVAL_MS: ms(5_000),
  /** How often source-topic high watermarks are sampled (traffic for ratio rules). */
  TRAFFIC_SAMPLE_INTERVAL_MS: ms(10_000),
  /** Alert rules as JSON (array); or ALERT_RULES_FILE, a path to such a file. Default rules otherwise. */
  ALERT_RULES: z.string().optional(),
  ALERT_RULES_FILE: z.string().optional(),
  /** Webhooks as JSON: [{"url": "...", "format": "alertmanager"|"plain", "headers": {...}}]. */
  ALERT_WEBHOOKS: webhooks,
  WEBHOOK_TIMEOUT_MS: ms(5_000),
  WEBHOOK_INITIAL_BACKOFF_MS: ms(500),
  WEBHOOK_MAX_BACKOFF_MS: ms(60_000),
  WEBHOOK_MAX_QUEUE: z.coerce.number().int().min(1).default(10_000),
  /** Public URL of this service, used as externalURL/generatorURL in Alertmanager payloads. */
  ALERTER_EXTERNAL_URL: z.url().optional(),
  /** Bearer token for replay; replay is refused (403) when unset. */
  ALERTER_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Upper bound on how long one browse or replay selection reads a DLQ. */
  BROWSE_TIMEOUT_MS: ms(10_000),
  BROWSE_MAX_LIMIT: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Messages re-produced (and recorded) per replay step. */
  REPLAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Most DLQ records one replay may select. */
  REPLAY_MAX_RECORDS: z.coerce.number().int().min(1).default(100_000),
  REPLAY_READ_TIMEOUT_MS: ms(120_000),
});

export type AlerterEnvConfig = Readonly<z.infer<typeof AlerterEnv>>;
export type AlerterConfig = AlerterEnvConfig & { readonly rules: readonly AlertRule[] };

/** The one place the alerter reads its environment; a bad rule fails start-up with its name. */
export function loadAlerterConfig(env: NodeJS.ProcessEnv = process.env): AlerterConfig {
  const config = loadConfig(AlerterEnv, env);
  const rules = loadRules({ json: config.ALERT_RULES, file: config.ALERT_RULES_FILE });
  return Object.freeze({ ...config, rules: Object.freeze(rules) });
}
