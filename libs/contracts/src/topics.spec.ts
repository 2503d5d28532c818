import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMAS_DIR } from './schemas';
import { renderTopicTable } from './topic-table';
import {
  allTopicSpecs,
  baseTopic,
  DLQ_RETENTION_MS,
  dlqTopicFor,
  dlqTopics,
  RETAIN_FOREVER,
  topicCatalog,
  topicSpec,
  topics,
  withPrefix,
} from './topics';

describe('topic catalog', () => {
  const specs = allTopicSpecs();
  const sources = specs.filter((s) => !s.isDlq);

  it('has one entry per topic constant, plus one DLQ each', () => {
    expect(sources.map((s) => s.name).sort()).toEqual(Object.values(topics).sort());
    expect(specs).toHaveLength(2 * sources.length);
    for (const [key, name] of Object.entries(topics)) {
      expect(topicCatalog[name].name).toBe(name);
      expect(dlqTopics[key as keyof typeof topics]).toBe(`${name}.dlq`);
    }
  });

  it('gives every topic a DLQ entry with the DeadLetter schema and 14 d retention', () => {
    for (const spec of sources) {
      expect(spec.dlq).toBe(`${spec.name}.dlq`);
      const dlq = topicCatalog[spec.dlq!];
      expect(dlq).toMatchObject({
        isDlq: true,
        dlq: null,
        valueSchema: 'dead-letter.avsc',
        valueRecord: 'io.flywheel.ops.DeadLetter',
        cleanupPolicy: 'delete',
        retentionMs: DLQ_RETENTION_MS,
      });
      expect(DLQ_RETENTION_MS).toBe(14 * 24 * 3_600_000);
      expect(dlq.producers).toEqual(expect.arrayContaining([...spec.consumers]));
      expect(dlq.consumers).toEqual(['dead-letter-alerter']);
    }
    expect(topicCatalog['events.raw.v1.dlq'].producers).toContain('collector');
  });

  it('points every entry at a schema file that exists', () => {
    for (const spec of specs) expect(existsSync(join(SCHEMAS_DIR, spec.valueSchema)), spec.name).toBe(true);
  });

  it('follows the naming rule <domain>.<entity>[.<event>].v<N>', () => {
    for (const spec of sources) expect(spec.name).toMatch(/^[a-z]+(\.[a-z][a-z-]*)*\.v\d+$/);
  });

  it('keeps compacted topics forever and deletes the rest after a finite time', () => {
    for (const spec of specs) {
      if (spec.cleanupPolicy === 'compact') expect(spec.retentionMs, spec.name).toBe(RETAIN_FOREVER);
      else expect(spec.retentionMs, spec.name).toBeGreaterThan(0);
    }
    expect(topicSpec(topics.modelsLifecycle)).toMatchObject({
      cleanupPolicy: 'compact',
      partitions: 1,
      key: 'model_name',
    });
  });

  it('co-partitions the account-keyed data topics (same partition count, so an account lands on the same partition index)', () => {
    const accountKeyed = sources.filter((s) => s.key.includes('account_id') && s.cleanupPolicy === 'delete');
    expect(accountKeyed.map((s) => s.name)).toEqual(
      expect.arrayContaining([topics.eventsRaw, topics.eventsEnriched, topics.labels, topics.featureVectors]),
    );
    expect(new Set(accountKeyed.map((s) => s.partitions))).toEqual(new Set([6]));
  });

  it('names the DLQ of a topic, prefixed or not, and refuses a DLQ of a DLQ', () => {
    expect(dlqTopicFor(topics.eventsRaw)).toBe('events.raw.v1.dlq');
    expect(dlqTopicFor('t-1.events.raw.v1')).toBe('t-1.events.raw.v1.dlq');
    expect(() => dlqTopicFor('events.raw.v1.dlq')).toThrow(/a DLQ has no DLQ/);
  });

  it('resolves prefixed names back to catalog names', () => {
    expect(baseTopic('predictions.v1')).toBe('predictions.v1');
    expect(baseTopic(withPrefix('t-1a2b.', topics.predictionsShadow))).toBe('predictions.shadow.v1');
    expect(baseTopic('t-1a2b.predictions.shadow.v1.dlq')).toBe('predictions.shadow.v1.dlq');
    expect(baseTopic('t_9-labels.v1')).toBe('labels.v1');
    expect(baseTopic('xlabels.v1')).toBeUndefined();
    expect(baseTopic('nope.v1')).toBeUndefined();
    expect(() => topicSpec('nope.v1')).toThrow(/unknown topic 'nope.v1'/);
    expect(withPrefix(undefined, topics.labels)).toBe('labels.v1');
  });

  it('README topic table is the one rendered from the catalog', () => {
    const readme = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8');
    // if this fails: npx tsx libs/contracts/src/scripts/topic-table.ts, paste into README.md, biome format
    const rendered = tableRows(renderTopicTable(), 'topic');
    expect(rendered.length).toBe(allTopicSpecs().length / 2 + 2);
    expect(tableRows(readme, 'topic')).toEqual(rendered);
  });
});

/** Rows (trimmed cells) of the markdown table whose header starts with `firstHeader`; formatting-insensitive. */
function tableRows(markdown: string, firstHeader: string): string[][] {
  const rows: string[][] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.trim().startsWith('|')
      ? line
          .trim()
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim())
      : undefined;
    if (!cells) {
      if (rows.length > 0) break;
      continue;
    }
    if (rows.length === 0 && cells[0] !== firstHeader) continue;
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}
