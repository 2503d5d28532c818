import type { Shard } from '../scoring/run-options';

/**
 * How `--shard i/n` splits the rows: a row belongs to shard
 *
 *     ((hashtextextended(entity, 0) mod n) + n) mod n
 *
 * computed by Postgres while it reads (no row is shipped to a process that does not own it). The hash is
 * the one Postgres uses for hash partitioning, stable across restarts and versions, so the n shards of a
 * run are disjoint and together cover every row, and all rows of an entity land in the same shard.
 * Returns the SQL predicate over `v.entity`, with its two parameters appended to `params`.
 */
export function shardPredicate(shard: Shard, params: unknown[]): string | null {
  if (shard.count === 1) return null;
  params.push(shard.count, shard.index);
  const n = `$${params.length - 1}::bigint`;
  const i = `$${params.length}::bigint`;
  return `((hashtextextended(v.entity, 0) % ${n}) + ${n}) % ${n} = ${i}`;
}
