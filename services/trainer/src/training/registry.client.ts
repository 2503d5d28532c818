/** The Production version of a model as the registry describes it. */
export interface ProductionRef {
  version: number;
  artifact_uri: string;
  artifact_sha256: string;
  feature_set_version: string;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

export interface RegistryClientOptions {
  baseUrl: string;
  /** Admin token (uploads); also sent on reads, which accept it. Never logged. */
  token?: string;
  timeoutMs: number;
}

/** The trainer's use of the model registry HTTP API: who is champion, download its artifact, upload ours. */
export class RegistryClient {
  constructor(private readonly options: RegistryClientOptions) {}

  /** The champion (= Production) version, or null when the model has none (or does not exist yet). */
  async production(model: string): Promise<ProductionRef | null> {
    const response = await this.request('GET', `/v1/models/${encodeURIComponent(model)}/aliases/champion`, {
      accept: 'application/json',
      allow404: true,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    const body = (await response.json()) as Record<string, unknown>;
    const version = Number(body.version);
    if (
      !Number.isInteger(version) ||
      typeof body.artifact_sha256 !== 'string' ||
      typeof body.feature_set_version !== 'string'
    ) {
      throw new RegistryError(
        'registry answered the champion alias without version/artifact_sha256/feature_set_version',
      );
    }
    return {
      version,
      artifact_sha256: body.artifact_sha256,
      artifact_uri: typeof body.artifact_uri === 'string' ? body.artifact_uri : `/v1/artifacts/${body.artifact_sha256}`,
      feature_set_version: body.feature_set_version,
    };
  }

  /** Downloads an artifact; the caller verifies its sha256 (loadBundle does) before using it. */
  async download(ref: Pick<ProductionRef, 'artifact_uri' | 'artifact_sha256'>): Promise<Buffer> {
    const response = await this.request('GET', ref.artifact_uri || `/v1/artifacts/${ref.artifact_sha256}`, {
      accept: 'application/octet-stream, application/json',
    });
    return Buffer.from(await response.arrayBuffer());
  }

  /** PUT /v1/artifacts/{sha256}: idempotent (200 when the same bytes are already stored). Returns artifact_uri. */
  async upload(sha256: string, bytes: Buffer): Promise<string> {
    if (!this.options.token) throw new RegistryError('TRAINER_REGISTRY_TOKEN is not set: cannot upload artifacts');
    const response = await this.request('PUT', `/v1/artifacts/${sha256}`, {
      accept: 'application/json',
      body: bytes,
      contentType: 'application/json',
    });
    const body = (await response.json()) as { artifact_uri?: unknown };
    return typeof body.artifact_uri === 'string' ? body.artifact_uri : `/v1/artifacts/${sha256}`;
  }

  private async request(
    method: 'GET' | 'PUT',
    path: string,
    options: { accept: string; body?: Buffer; contentType?: string; allow404?: boolean },
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    const headers: Record<string, string> = { accept: options.accept };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (options.contentType) headers['content-type'] = options.contentType;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body ? new Uint8Array(options.body) : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new RegistryError(
        `registry unreachable at ${new URL(url).origin}: ${(error as Error).message}`,
        undefined,
        {
          cause: error,
        },
      );
    }
    if (!response.ok && !(options.allow404 && response.status === 404)) {
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      throw new RegistryError(
        `registry answered ${response.status} to ${method} ${new URL(url).pathname}: ${detail}`,
        response.status,
      );
    }
    return response;
  }
}
