import { allTopicSpecs, DLQ_RETENTION_MS, type TopicSpec } from './topics';

function retention(ms: number): string {
  if (ms < 0) return 'forever';
  const days = ms / 86_400_000;
  return Number.isInteger(days) ? `${days} d` : `${ms} ms`;
}

function row(spec: TopicSpec): string {
  const cells = [
    `\`${spec.name}\``,
    spec.key,
    String(spec.partitions),
    `${spec.cleanupPolicy}, ${retention(spec.retentionMs)}`,
    `\`${spec.valueRecord.split('.').pop()}\` (${spec.valueSchema})`,
    spec.producers.join(', ') || '—',
    spec.consumers.join(', ') || '—',
    spec.dlq ? `\`${spec.dlq}\`` : '—',
  ];
  return `| ${cells.join(' | ')} |`;
}

/**
 * The topic table of libs/contracts/README.md, rendered from the catalog (DLQs summarised in one row).
 * A unit test keeps the README equal to it; regenerate with `npx tsx libs/contracts/src/scripts/topic-table.ts`.
 */
export function renderTopicTable(): string {
  const specs = allTopicSpecs();
  const lines = [
    '| topic | key | partitions | cleanup, retention | value record (schema file) | producers | consumers | DLQ |',
    '|---|---|---|---|---|---|---|---|',
    ...specs.filter((s) => !s.isDlq).map(row),
    `| \`<topic>.dlq\` (one per topic above) | original key | 1 | delete, ${retention(DLQ_RETENTION_MS)} | \`DeadLetter\` (dead-letter.avsc) | the topic's consumers (+ collector for events.raw.v1.dlq) | dead-letter-alerter | — |`,
  ];
  return lines.join('\n');
}
