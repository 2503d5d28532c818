import type { Alert } from '@flywheel/contracts';

/** Alertmanager's "zero time", which it sends as endsAt of a firing alert. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export type WebhookFormat = 'alertmanager' | 'plain';

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
}

/**
 * The Alertmanager webhook body (version 4), so any receiver written for Alertmanager (PagerDuty/Slack
 * bridges, alertmanager-webhook-logger ...) accepts it. The group status is firing if any alert fires.
 */
export function toAlertmanager(
  alerts: Alert[],
  options: { receiver: string; externalUrl: string },
): AlertmanagerPayload {
  const status = (a: Alert) => (a.status === 'FIRING' ? 'firing' : 'resolved') as 'firing' | 'resolved';
  return {
    version: '4',
    groupKey: `{}:{receiver="${options.receiver}"}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'FIRING') ? 'firing' : 'resolved',
    receiver: options.receiver,
    groupLabels: {},
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: options.externalUrl,
    alerts: alerts.map((a) => ({
      status: status(a),
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: new Date(a.starts_at).toISOString(),
      endsAt: a.ends_at === null ? ZERO_TIME : new Date(a.ends_at).toISOString(),
      generatorURL: `${options.externalUrl}/v1/dlq`,
      fingerprint: a.fingerprint,
    })),
  };
}

/** The plain format: the alerts.v1 records as JSON (times as ISO strings and epoch millis). */
export function toPlain(alerts: Alert[]) {
  return {
    alerts: alerts.map((a) => ({
      ...a,
      starts_at_iso: new Date(a.starts_at).toISOString(),
      ends_at_iso: a.ends_at === null ? null : new Date(a.ends_at).toISOString(),
    })),
  };
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {};
  const [first, ...rest] = maps;
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)));
}
