import type { Admin } from 'kafkajs';
import { UsageError } from '../cli-errors';
import { KafkaSession } from '../kafka/kafka-session';
import { printJson, table } from '../output';
import { type Command, parseCommand } from './command';

const HELP = `
flywheel topics [<filter>] [--group <id>]... [--all]

Lists topics with their partitions, retained records (high - low watermark) and, per consumer group that has
committed offsets on the topic, the lag: records after the group's committed offset, summed over partitions.
A partition the group has not committed on yet is counted in "uncommitted" rather than guessed at.

With --topic-prefix (or TOPIC_PREFIX) only that mesh's topics are listed; internal topics (__*) never.

Options:
  <filter>                only topics whose name contains this text
  --group <id>            only this consumer group (repeatable); default: every group
  --all                   every topic, ignoring the prefix

Examples:
  flywheel topics
  flywheel topics predictions --group monitor --json
`;

export interface GroupLag {
  group: string;
  state: string;
  members: number;
  /** Records behind, over the partitions with a committed offset. */
  lag: number;
  /** Partitions without a committed offset for this group. */
  uncommitted: number;
}

export interface TopicRow {
  topic: string;
  partitions: number;
  records: number;
  end_offset: number;
  groups: GroupLag[];
}

export const topicsCommand: Command = {
  name: 'topics',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      group: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    if (positionals.length > 1) throw new UsageError(`one filter only, got ${positionals.join(' ')}`);
    const session = await KafkaSession.open(config);
    try {
      const admin = await session.adminClient();
      const names = (await admin.listTopics())
        .filter((t) => !t.startsWith('__'))
        .filter((t) => values.all || !config.topicPrefix || t.startsWith(config.topicPrefix))
        .filter((t) => !positionals[0] || t.includes(positionals[0]))
        .sort();
      const rows = await topicRows(admin, names, values.group);
      if (config.json) {
        printJson(io, rows);
        return 0;
      }
      if (rows.length === 0) {
        io.err(
          `no topics${config.topicPrefix && !values.all ? ` with prefix ${config.topicPrefix} (--all shows every topic)` : ''}\n`,
        );
        return 0;
      }
      const lines: Array<Array<string | number | null>> = [['TOPIC', 'PARTITIONS', 'RECORDS', 'GROUP', 'LAG', 'STATE']];
      for (const row of rows) {
        if (row.groups.length === 0) lines.push([row.topic, row.partitions, row.records, null, null, null]);
        for (const [i, g] of row.groups.entries()) {
          lines.push([
            i === 0 ? row.topic : '',
            i === 0 ? row.partitions : '',
            i === 0 ? row.records : '',
            g.group,
            g.uncommitted ? `${g.lag} (+${g.uncommitted} uncommitted)` : g.lag,
            `${g.state}/${g.members}`,
          ]);
        }
      }
      io.out(table(lines));
      return 0;
    } finally {
      await session.close();
    }
  },
};

/** Watermarks per topic, committed offsets per group; a few requests at a time (the broker is shared). */
export async function topicRows(admin: Admin, names: string[], onlyGroups?: string[]): Promise<TopicRow[]> {
  const watermarks = new Map(
    await mapLimited(names, 8, async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const),
  );
  const groupIds = onlyGroups ?? (await admin.listGroups()).groups.map((g) => g.groupId);
  const descriptions = groupIds.length ? (await admin.describeGroups(groupIds)).groups : [];
  const stateOf = new Map(descriptions.map((g) => [g.groupId, { state: g.state, members: g.members.length }]));
  const wanted = new Set(names);
  const committed = await mapLimited(groupIds.sort(), 8, async (groupId) => ({
    groupId,
    offsets: (await admin.fetchOffsets({ groupId })).filter((t) => wanted.has(t.topic)),
  }));
  return names.map((topic) => {
    const marks = watermarks.get(topic) ?? [];
    const groups: GroupLag[] = [];
    for (const { groupId, offsets } of committed) {
      const mine = offsets.find((t) => t.topic === topic);
      if (!mine || mine.partitions.every((p) => Number(p.offset) < 0)) continue;
      let lag = 0;
      let uncommitted = 0;
      for (const mark of marks) {
        const at = Number(mine.partitions.find((p) => p.partition === mark.partition)?.offset ?? -1);
        if (at < 0) uncommitted++;
        else lag += Math.max(0, Number(mark.high) - at);
      }
      const described = stateOf.get(groupId);
      groups.push({
        group: groupId,
        state: described?.state ?? 'Unknown',
        members: described?.members ?? 0,
        lag,
        uncommitted,
      });
    }
    return {
      topic,
      partitions: marks.length,
      records: marks.reduce((sum, m) => sum + Number(m.high) - Number(m.low), 0),
      end_offset: marks.reduce((sum, m) => sum + Number(m.high), 0),
      groups,
    };
  });
}

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}
