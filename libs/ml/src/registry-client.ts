/** What serving code (stream-inference, batch-scorer) needs to load one model version. */
export interface ModelVersionRef {
  model_name: string;
  version: number;
  artifact_uri: string;
  artifact_sha256: string;
  feature_set_version: string;
}

export interface RegistryClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
}

/** The registry answered, but not with what we asked for (status or shape). */
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

/**
 * Reads the model registry's HTTP API: artifacts by sha256 (`/v1/artifacts/{sha256}`, or the relative
 * `artifact_uri` of a lifecycle event) and versions by number or alias. Read-only. Shared by every mode
 * that serves a model (stream, request-response, batch) so they resolve and download versions one way.
 */
export class RegistryClient {
  constructor(private readonly options: RegistryClientOptions) {}

  /** Downloads an artifact. The caller verifies its sha256 before using a byte of it. */
  async fetchArtifact(ref: Pick<ModelVersionRef, 'artifact_uri' | 'artifact_sha256'>): Promise<Buffer> {
    const path = ref.artifact_uri || `/v1/artifacts/${ref.artifact_sha256}`;
    const response = await this.get(path, 'application/octet-stream, application/json');
    return Buffer.from(await response.arrayBuffer());
  }

  async version(model: string, version: number): Promise<ModelVersionRef> {
    return this.versionAt(`/v1/models/${encodeURIComponent(model)}/versions/${version}`, model);
  }

  async alias(model: string, alias: string): Promise<ModelVersionRef> {
    return this.versionAt(`/v1/models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`, model);
  }

  private async versionAt(path: string, model: string): Promise<ModelVersionRef> {
    const body = (await (await this.get(path, 'application/json')).json()) as Record<string, unknown>;
    const version = Number(body.version);
    const sha = body.artifact_sha256;
    if (!Number.isInteger(version) || typeof sha !== 'string' || typeof body.feature_set_version !== 'string') {
      throw new RegistryError(`registry answered ${path} without version/artifact_sha256/feature_set_version`);
    }
    return {
      model_name: model,
      version,
      artifact_sha256: sha,
      artifact_uri: typeof body.artifact_uri === 'string' ? body.artifact_uri : `/v1/artifacts/${sha}`,
      feature_set_version: body.feature_set_version,
    };
  }

  private async get(pathOrUrl: string, accept: string): Promise<Response> {
    // artifact_uri is relative to the registry (`/v1/artifacts/<sha>`); an absolute URL is used as is
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.options.baseUrl.replace(/\/$/, '')}${pathOrUrl}`;
    const headers: Record<string, string> = { accept };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw new RegistryError(
        `registry unreachable at ${new URL(url).origin}: ${(error as Error).message}`,
        undefined,
        {
          cause: error,
        },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryError(`registry answered ${response.status} for ${new URL(url).pathname}`, response.status);
    }
    return response;
  }
}
