import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../scoring/run-options';
import { parseScoreBatchArgs } from './parse-args';

const newId = () => 'generated-1';

describe('score-batch arguments', () => {
  it('maps every flag onto the options, and flags onto env overrides', () => {
    const parsed = parseScoreBatchArgs(
      [
        '--model',
        'payments-fraud',
        '--version',
        '3',
        '--from',
        '2026-01-10T00:00:00Z',
        '--to',
        '2026-01-11T00:00:00Z',
        '--entities',
        'a, b,,c',
        '--run-id',
        'r1',
        '--shard',
        '1/2',
        '--to-topic',
        '--namespace',
        'ns',
        '--max-rows-per-second',
        '500',
        '--metrics-port',
        '9400',
        '--metrics-file',
        '/tmp/m.prom',
      ],
      newId,
    );
    expect(parsed).toEqual({
      help: false,
      generatedRunId: false,
      options: {
        model: 'payments-fraud',
        alias: undefined,
        version: 3,
        from: Date.UTC(2026, 0, 10),
        to: Date.UTC(2026, 0, 11),
        entities: ['a', 'b', 'c'],
        runId: 'r1',
        shard: { index: 1, count: 2 },
        toTopic: true,
        namespace: 'ns',
        maxRowsPerSecond: 500,
      },
      env: { BATCH_METRICS_PORT: '9400', BATCH_METRICS_FILE: '/tmp/m.prom' },
    });
  });

  it('defaults to shard 0/1, no topic, and a generated run id it says it generated', () => {
    const parsed = parseScoreBatchArgs(['--model', 'm', '--alias', 'champion', '--entities', 'x'], newId);
    expect(parsed).toMatchObject({
      help: false,
      generatedRunId: true,
      options: { runId: 'generated-1', shard: { index: 0, count: 1 }, toTopic: false },
    });
  });

  it('reads an entity list from @file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'score-batch-')), 'entities.txt');
    writeFileSync(file, 'acct-1\n\n  acct-2 \r\nacct-3\n');
    const parsed = parseScoreBatchArgs(['--model', 'm', '--alias', 'a', '--entities', `@${file}`], newId);
    expect(parsed.help === false && parsed.options.entities).toEqual(['acct-1', 'acct-2', 'acct-3']);
  });

  it('answers --help, and refuses unknown flags, bad values and missing pieces with a UsageError', () => {
    expect(parseScoreBatchArgs(['--help'], newId)).toEqual({ help: true });
    const cases: Array<[string[], RegExp]> = [
      [['--model', 'm', '--alias', 'a', '--entities', 'x', '--bogus'], /Unknown option/],
      [['--alias', 'a', '--entities', 'x'], /--model is required/],
      [['--model', 'm', '--alias', 'a', '--entities', 'x', '--version', 'two'], /--version two/],
      [['--model', 'm', '--alias', 'a', '--entities', 'x', '--shard', '2/2'], /--shard 2\/2/],
      [['--model', 'm', '--alias', 'a', '--from', 'soon', '--to', '1'], /--from soon/],
      [['--model', 'm', '--alias', 'a', '--entities', '@/no/such/file'], /--entities @\/no\/such\/file/],
      [['--model', 'm', '--alias', 'a'], /refusing to score the whole log/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseScoreBatchArgs(argv, newId), argv.join(' ')).toThrow(UsageError);
      expect(() => parseScoreBatchArgs(argv, newId), argv.join(' ')).toThrow(message);
    }
  });
});
