import { CliError, UnreachableError } from '../cli-errors';

/** A mesh service the CLI talks to over HTTP, with the flag and variable that point at it. */
export interface ServiceEndpoint {
  name: string;
  url: string;
  flag: string;
  env: string;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Recorded by the registry (X-Registry-Actor) and the alerter (X-Flywheel-Actor) in their audit. */
  actor?: string;
  /** Statuses answered to the caller instead of thrown (e.g. 404 "nothing yet"). */
  accept?: number[];
  timeoutMs?: number;
}

export interface CallResult<T> {
  status: number;
  body: T;
}

/**
 * One JSON request to a service. No answer → UnreachableError naming the URL and what to start; 401/403 →
 * says which token is needed; any other error status → the service's own message.
 */
export async function callService<T = unknown>(
  service: ServiceEndpoint,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.actor) {
    headers['x-registry-actor'] = options.actor;
    headers['x-flywheel-actor'] = options.actor;
  }
  let response: Response;
  try {
    response = await fetch(`${service.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (error) {
    throw new UnreachableError(
      `cannot reach the ${service.name} at ${service.url} (${networkCause(error)}). Is the mesh running? ` +
        `Start it with \`npm run mesh\`, or point ${service.flag} / ${service.env} at the ${service.name}.`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the error message
  }
  if (response.ok || options.accept?.includes(response.status)) return { status: response.status, body: body as T };
  const what = `${method} ${service.url}${path}`;
  const message = messageOf(body);
  if (response.status === 401 || response.status === 403) {
    throw new CliError(
      `the ${service.name} refused ${what}: HTTP ${response.status}${message ? ` ${message}` : ''}. ` +
        'This needs the admin token: --admin-token or FLYWHEEL_ADMIN_TOKEN (`npm run mesh` prints the local one).',
    );
  }
  throw new CliError(`the ${service.name} answered HTTP ${response.status} to ${what}${message ? `: ${message}` : ''}`);
}

/** The useful part of a Nest (`{message}`), Confluent (`{message}`) or alerter (`{error, issues}`) error body. */
function messageOf(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 500);
  if (typeof body !== 'object' || body === null) return '';
  const b = body as { message?: unknown; error?: unknown; issues?: unknown };
  const parts = [b.message, b.issues].flatMap((part) => (Array.isArray(part) ? part : part ? [part] : []));
  return (parts.length ? parts : [b.error]).filter(Boolean).map(String).join('; ');
}

export function networkCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'no answer within the timeout';
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
