/** The run id exists with other options, or its shard is held by another process (exit code 3). */
export class RunConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunConflictError';
  }
}

/** The model version cannot be had: unknown name/version/alias, refused artifact (exit code 4). */
export class ModelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}
