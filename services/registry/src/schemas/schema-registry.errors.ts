/**
 * Errors with Confluent's status and error codes. Clients branch on these codes (e.g. the kafkajs client
 * treats a 404 from GET /config/{subject} as "first registration"), so they are part of the contract.
 */
export class SchemaRegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SchemaRegistryError';
  }

  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const subjectNotFound = (subject: string) =>
  new SchemaRegistryError(404, 40401, `Subject '${subject}' not found.`);

export const versionNotFound = (version: number | string) =>
  new SchemaRegistryError(404, 40402, `Version ${version} not found.`);

export const schemaNotFound = (id?: number) =>
  new SchemaRegistryError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`);

export const subjectSoftDeleted = (subject: string) =>
  new SchemaRegistryError(
    404,
    40404,
    `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
  );

export const subjectNotSoftDeleted = (subject: string) =>
  new SchemaRegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`);

export const versionSoftDeleted = (subject: string, version: number) =>
  new SchemaRegistryError(
    404,
    40406,
    `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`,
  );

export const versionNotSoftDeleted = (subject: string, version: number) =>
  new SchemaRegistryError(
    404,
    40407,
    `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
  );

export const subjectLevelConfigNotFound = (subject: string) =>
  new SchemaRegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);

export const incompatibleSchema = (subject: string, level: string, reasons: string[]) =>
  new SchemaRegistryError(
    409,
    409,
    `Schema being registered is incompatible with an earlier schema for subject '${subject}' (compatibility ${level}): ${reasons.join('; ')}`,
  );

export const invalidSchema = (detail: string) => new SchemaRegistryError(422, 42201, `Invalid schema: ${detail}`);

export const invalidVersion = (version: string) =>
  new SchemaRegistryError(
    422,
    42202,
    `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
  );

export const invalidCompatibilityLevel = (level: unknown) =>
  new SchemaRegistryError(
    422,
    42203,
    `Invalid compatibility level ${JSON.stringify(level ?? null)}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive`,
  );
