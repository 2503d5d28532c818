import { createHash, randomUUID } from 'node:crypto';
import type { Baseline, ModelTrained } from '@flywheel/contracts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface Artifact {
  bytes: Buffer;
  sha256: string;
}

/** A stand-in for a tfjs model file: JSON bytes, unique per call so every test uploads its own artifact. */
export function makeArtifact(label = 'model'): Artifact {
  const bytes = Buffer.from(
    JSON.stringify({ format: 'layers-model', label, nonce: randomUUID(), weights: [0.25, -1.5, 3] }),
  );
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export const baseline: Baseline = {
  features: [
    { name: 'amount_z', bin_edges: [-3, 0, 3], counts: [10, 12] },
    { name: 'tx_count_1h', bin_edges: [0, 5, 10], counts: [20, 2] },
  ],
  score: { name: 'score', bin_edges: [0, 0.5, 1], counts: [18, 4] },
};

export function versionBody(artifactSha256: string, overrides: Record<string, unknown> = {}) {
  return {
    artifact_sha256: artifactSha256,
    feature_set_version: 'fs-1',
    feature_names: ['amount_z', 'tx_count_1h'],
    metrics: { auc: 0.8, log_loss: 0.4 },
    baseline,
    training_window_start: 1_700_000_000_000,
    training_window_end: 1_700_086_400_000,
    ...overrides,
  };
}

export function trainedEvent(model: string, artifact: Artifact, overrides: Partial<ModelTrained> = {}): ModelTrained {
  return {
    run_id: randomUUID(),
    model_name: model,
    artifact_uri: `/v1/artifacts/${artifact.sha256}`,
    artifact_sha256: artifact.sha256,
    artifact_size_bytes: artifact.bytes.length,
    feature_set_version: 'fs-1',
    feature_names: ['amount_z', 'tx_count_1h'],
    metrics: { auc: 0.8 },
    production_version: null,
    production_metrics: null,
    baseline,
    training_window_start: 1_700_000_000_000,
    training_window_end: 1_700_086_400_000,
    parent_version: null,
    retrain_request_id: null,
    trained_at: Date.now(),
    ...overrides,
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: asserted field by field in the tests.
  body: any;
  raw: Buffer;
}

/** One call to the model registry API; `token` null sends no Authorization header. */
export async function api(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: Uint8Array | string | undefined;
  if (Buffer.isBuffer(options.body)) {
    body = new Uint8Array(options.body);
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const raw = Buffer.from(await response.arrayBuffer());
  let parsed: unknown;
  try {
    parsed = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    parsed = raw.toString('utf8');
  }
  return { status: response.status, headers: response.headers, body: parsed, raw };
}

export async function uploadArtifact(baseUrl: string, artifact: Artifact): Promise<void> {
  const response = await api(baseUrl, 'PUT', `/v1/artifacts/${artifact.sha256}`, {
    body: artifact.bytes,
    contentType: 'application/json',
  });
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`artifact upload answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
}
