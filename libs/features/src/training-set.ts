/**
 * Point-in-time correct training sets from the offline feature log.
 *
 * The offline log (table `<schema>.offline_vectors`, partitioned by day of event_time) holds exactly the
 * vector emitted FOR each event: features as of its event time, from the state before the event. Joining
 * a label to that row by event_id therefore can never pick up features computed after the event, however
 * late the label arrives — unlike a join against the online store or "the latest vector of the entity".
 * Its `features` column is float8[]; `<schema>.feature_set_versions` names the values of each version once.
 */

/** The subset of pg's Pool/Client this needs. */
export interface SqlQueryable {
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by the caller.
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

export interface LabelInput {
  event_id: string;
  is_fraud: boolean;
  /** When the label became known; a later label of the same event supersedes an earlier one. */
  label_time: number;
}

export interface TrainingSetOptions {
  /** Event-time range [from, to) of the labelled events, epoch millis. */
  from: number;
  to: number;
  featureSetVersion: string;
  /** State namespace that wrote the log; defaults to the feature set version (the live materializer's). */
  namespace?: string;
  /** Labels from a table with columns (event_id, is_fraud, label_time), e.g. 'features.labels'. */
  labelsTable?: string;
  /** Or labels given directly. */
  labels?: Iterable<LabelInput>;
  /** Only labels known by this time (label_time ≤ labelsKnownBy): what a model trained then could see. */
  labelsKnownBy?: number;
  /** Postgres schema of the offline log; default 'features'. */
  schema?: string;
}

export interface TrainingRow {
  event_id: string;
  entity: string;
  event_time: number;
  features: Record<string, number>;
  /** 1 = fraud, 0 = genuine. */
  label: number;
}

const IDENT = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/i;

export async function pointInTimeTrainingSet(db: SqlQueryable, options: TrainingSetOptions): Promise<TrainingRow[]> {
  const schema = options.schema ?? 'features';
  if (!IDENT.test(schema)) throw new Error(`bad schema name ${schema}`);
  const namespace = options.namespace ?? options.featureSetVersion;
  const params: unknown[] = [namespace, options.featureSetVersion, options.from, options.to];
  let labelsSql: string;
  if (options.labels) {
    // Latest label per event (within labelsKnownBy), resolved here so the SQL sees one row per event.
    const latest = new Map<string, LabelInput>();
    for (const label of options.labels) {
      if (options.labelsKnownBy !== undefined && label.label_time > options.labelsKnownBy) continue;
      const seen = latest.get(label.event_id);
      if (!seen || label.label_time >= seen.label_time) latest.set(label.event_id, label);
    }
    const list = [...latest.values()];
    params.push(
      list.map((l) => l.event_id),
      list.map((l) => l.is_fraud),
      list.map((l) => l.label_time),
    );
    labelsSql = 'unnest($5::text[], $6::boolean[], $7::bigint[]) AS l(event_id, is_fraud, label_time)';
  } else if (options.labelsTable) {
    if (!IDENT.test(options.labelsTable)) throw new Error(`bad labels table name ${options.labelsTable}`);
    params.push(options.labelsKnownBy ?? null);
    labelsSql = `(SELECT event_id, is_fraud, label_time FROM ${options.labelsTable}
                  WHERE $5::bigint IS NULL OR label_time <= $5::bigint) AS l`;
  } else {
    throw new Error('pointInTimeTrainingSet needs labels or labelsTable');
  }
  // The log stores each row's values as float8[] in the order its version registered once (feature_set_versions).
  const registered = await db.query(
    `SELECT feature_names FROM ${schema}.feature_set_versions WHERE feature_set_version = $1`,
    [options.featureSetVersion],
  );
  if (registered.rows.length === 0) return [];
  const names: string[] = registered.rows[0].feature_names;
  const { rows } = await db.query(
    `SELECT v.event_id, v.entity, v.event_time, v.features, l.is_fraud
       FROM ${schema}.offline_vectors v
       JOIN ${labelsSql} ON l.event_id = v.event_id
      WHERE v.namespace = $1 AND v.feature_set_version = $2 AND v.event_time >= $3 AND v.event_time < $4
      ORDER BY v.event_time, v.event_id`,
    params,
  );
  return rows.map((r) => ({
    event_id: r.event_id,
    entity: r.entity,
    event_time: Number(r.event_time),
    features: featureRecord(names, r.features),
    label: r.is_fraud ? 1 : 0,
  }));
}

/** name → value of a stored row; a NULL element (missing value) leaves its name out, as the jsonb log did. */
function featureRecord(names: readonly string[], values: (number | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) {
    const value = values[i];
    if (value !== null && value !== undefined) out[names[i]] = value;
  }
  return out;
}
