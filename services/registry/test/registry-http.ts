export interface RegistryResponse {
  status: number;
  contentType: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in the tests.
  body: any;
}

export const SR_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** One HTTP call to the registry the way a Confluent client makes it (JSON body, vendor media type). */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  contentType: string = SR_CONTENT_TYPE,
): Promise<RegistryResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the assertion will show the text
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body: parsed };
}

/** Body of a registration: the Avro schema as a JSON string, as Confluent's API wants it. */
export const schemaBody = (schema: unknown, extra: Record<string, unknown> = {}) => ({
  schema: JSON.stringify(schema),
  ...extra,
});
