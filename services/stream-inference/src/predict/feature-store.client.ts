/** Online features of one entity, as the feature-materializer serves them. */
export interface OnlineFeatures {
  entity: string;
  feature_set_version: string;
  features: Record<string, number>;
}

/** Why a feature lookup failed, mapped to an HTTP status by the caller. */
export class FeatureStoreError extends Error {
  constructor(
    message: string,
    /** unreachable/timeout → 503; bad answer → 502; entity unknown → 404. */
    readonly reason: 'unreachable' | 'timeout' | 'bad-response' | 'not-found' | 'not-configured',
  ) {
    super(message);
    this.name = 'FeatureStoreError';
  }
}

/**
 * Client of the feature-materializer's online store: `GET {FEATURE_STORE_URL}/v1/features/{entity}` →
 * `{entity, feature_set_version, features: {name: number}}`, with a hard timeout so a slow store can
 * never hold a prediction request longer than FEATURE_STORE_TIMEOUT_MS.
 */
export class FeatureStoreClient {
  constructor(
    private readonly baseUrl: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  async features(entity: string): Promise<OnlineFeatures> {
    if (!this.baseUrl) {
      throw new FeatureStoreError('FEATURE_STORE_URL is not configured: send the features instead', 'not-configured');
    }
    const url = `${this.baseUrl.replace(/\/$/, '')}/v1/features/${encodeURIComponent(entity)}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new FeatureStoreError(`feature store did not answer within ${this.timeoutMs} ms`, 'timeout');
      }
      throw new FeatureStoreError(`feature store unreachable: ${(error as Error).message}`, 'unreachable');
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw new FeatureStoreError(`feature store has no features for entity ${entity}`, 'not-found');
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new FeatureStoreError(`feature store answered ${response.status}`, 'bad-response');
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new FeatureStoreError('feature store answered with something that is not JSON', 'bad-response');
    }
    const b = body as Partial<OnlineFeatures> | null;
    if (
      !b ||
      typeof b.feature_set_version !== 'string' ||
      typeof b.features !== 'object' ||
      b.features === null ||
      !Object.values(b.features).every((v) => typeof v === 'number')
    ) {
      throw new FeatureStoreError('feature store answer lacks feature_set_version or numeric features', 'bad-response');
    }
    return { entity: b.entity ?? entity, feature_set_version: b.feature_set_version, features: b.features };
  }
}
