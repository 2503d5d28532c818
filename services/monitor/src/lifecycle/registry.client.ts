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

/** Reads a model version's baseline histograms: `GET /v1/models/{name}/versions/{v}` → `baseline`. */
export class RegistryClient {
  constructor(private readonly options: RegistryClientOptions) {}

  async baseline(model: string, version: number): Promise<Baseline> {
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
    const body = (await response.json()) as { baseline?: Baseline };
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
    return baseline;
  }
}
