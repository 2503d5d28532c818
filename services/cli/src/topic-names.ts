import { isCatalogTopic, withPrefix } from '@flywheel/contracts';

/**
 * The topic a user means: a catalog name (`events.raw.v1`, `events.raw.v1.dlq`) gets the mesh's TOPIC_PREFIX;
 * any other name is taken as written (already prefixed, or not a catalog topic).
 */
export function meshTopic(prefix: string, name: string): string {
  return isCatalogTopic(name) ? withPrefix(prefix, name) : name;
}
