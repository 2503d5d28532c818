import { paymentsFraud } from '@flywheel/features';
import type { MeshView } from '../../libs/testing/src/faults';
import { recompute, sameFeatures } from '../features/reference';

/**
 * Feature aggregates against an independent recomputation (test/features/reference.ts) from what the mesh itself
 * carried: the events on events.enriched.v1 in partition order (the order the feature-materializer applies them;
 * repeats of an event_id ignored, as the materializer must). Checks every vector emitted (repeats included: a
 * re-emitted vector must carry the same values) and every entity's online row. A crash that re-applied or skipped
 * an event in the materializer's state shows up here as a count or sum off by one. The mesh is shared by the suite's
 * files, so this covers everything it carried since it started, not only the calling scenario's events.
 */
export async function featureMismatches(mesh: MeshView): Promise<{ checked: number; mismatches: string[] }> {
  const events = mesh.enriched
    .values()
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((r) => r.value);
  const expected = recompute(events, paymentsFraud.allowedLatenessMs);
  const mismatches: string[] = [];
  let checked = 0;
  const emitted = new Set<string>();
  for (const { value } of mesh.vectors.values()) {
    emitted.add(value.event_id);
    const want = expected.vectors.get(value.event_id);
    const difference = want ? sameFeatures(value.features, want) : 'no such event on events.enriched.v1';
    if (difference) mismatches.push(`vector ${value.event_id}: ${difference}`);
    checked++;
  }
  for (const id of expected.vectors.keys()) if (!emitted.has(id)) mismatches.push(`no vector for event ${id}`);

  const entities = [...expected.online.keys()];
  let body: { results: Array<{ entity: string; as_of: number; features: Record<string, number> }>; missing: string[] };
  try {
    body = (await readOnline(`${mesh.one('feature-materializer').url}/v1/features/batch`, entities)) as typeof body;
  } catch (error) {
    // a crashed feature-materializer is a finding of its own: report it with the counts instead of hiding them
    mismatches.push(`online store unreachable: ${(error as Error).cause ?? error}`);
    return { checked, mismatches };
  }
  for (const entity of body.missing ?? []) mismatches.push(`online row missing for ${entity}`);
  for (const row of body.results ?? []) {
    const want = expected.online.get(row.entity);
    const difference =
      want === undefined
        ? 'unexpected entity'
        : row.as_of !== want.asOf
          ? `as_of ${row.as_of} vs ${want.asOf}`
          : sameFeatures(row.features, want.features);
    if (difference) mismatches.push(`online ${row.entity}: ${difference}`);
    checked++;
  }
  return { checked, mismatches };
}

/**
 * The batch read of the online store. A read, so safe to repeat: a connection the server closed between two
 * requests (keep-alive timeout racing the client's reuse: undici's "other side closed") is retried on a new one,
 * up to 3 attempts; a materializer that is really gone still fails all of them.
 */
async function readOnline(url: string, entities: string[]): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities }),
      });
      return await response.json();
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
