import type { Baseline, Histogram } from '@flywheel/contracts';
import { validateHistogram } from '@flywheel/ml';

export interface RegistryClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
}

export class RegistryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** What the monitor needs of a version: its baseline histograms and its holdout metrics. */
export interface VersionFacts {
  baseline: Baseline;
  /** Holdout metrics recorded at training (e.g. auc); empty when the registry has none. */
  metrics: Record<string, number>;
}

/** Reads a model version's baseline and metrics: `GET /v1/models/{name}/versions/{v}`. */
export class RegistryClient {
  constructor(private readonly options: RegistryClientOptions) {}

  async version(model: string, version: number): Promise<VersionFacts> {
    const path = `/v1/models/${encodeURIComponent(model)}/versions/${version}`;
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw new RegistryError(`registry unreachable at ${new URL(url).origin}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!response.ok) throw new RegistryError(`registry answered ${response.status} to GET ${path}`);
    const body = (await response.json()) as { baseline?: Baseline; metrics?: Record<string, unknown> };
    const baseline = body.baseline;
    if (!baseline || !Array.isArray(baseline.features) || !baseline.score) {
      throw new RegistryError(`registry answered GET ${path} without a baseline`);
    }
    const check = (h: Histogram) => {
      try {
        validateHistogram(h);
      } catch (error) {
        throw new RegistryError(`baseline of ${model} v${version}: ${(error as Error).message}`);
      }
    };
    baseline.features.forEach(check);
    check(baseline.score);
    // only finite numbers: a malformed metric must not switch the quality detector on with garbage
    const metrics = Object.fromEntries(
      Object.entries(body.metrics ?? {}).filter((e): e is [string, number] => Number.isFinite(e[1])),
    );
    return { baseline, metrics };
  }
}
